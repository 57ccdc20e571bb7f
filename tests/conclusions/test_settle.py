"""The background loop's settle delays: a commit wakes the worker, which concludes a moment
later (the write answers first); it warms the pooled answers only once no commit came for a
while (a write makes them stale); stopping cuts either wait short."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from service.usecases.conclusions.version import Concluded
from service.usecases.conclusions.worker import ConclusionsWorker, WorkerTiming

Run = list[tuple[int, tuple[str, ...]]]


def _no_session() -> AbstractContextManager[Session]:
    raise AssertionError("drain is replaced: no session is opened")


class _Counting(ConclusionsWorker):
    def __init__(self, settle: float) -> None:
        super().__init__(_no_session, _no_session, timing=WorkerTiming(poll=60.0, settle=settle))
        self.drains = 0

    def drain(self, limit: int | None = None) -> list[int]:
        self.drains += 1
        return []


def _until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def _started(worker: ConclusionsWorker) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def _running(worker: _Counting) -> tuple[threading.Event, threading.Thread]:
    stop, thread = _started(worker)
    assert _until(lambda: worker.drains == 1)  # the first drain, at start
    return stop, thread


def _stopped(worker: ConclusionsWorker, stop: threading.Event, thread: threading.Thread) -> None:
    """Stop the loop (woken, so that it sees the stop at once) and check that it ended."""
    stop.set()
    worker.wake()
    thread.join(5.0)
    assert not thread.is_alive()


class _Outbox(ConclusionsWorker):
    """Concludes what the test puts in ``waiting`` (nothing stored), recording its warm-ups."""

    def __init__(self, warm_settle: float) -> None:
        timing = WorkerTiming(poll=60.0, warm_settle=warm_settle)
        super().__init__(_no_session, _no_session, timing=timing, after_conclusion=self._warmed)
        self.waiting: Run = []
        self.concluded: list[int] = []
        self.warmed: Run = []
        self._lock = threading.Lock()

    def _warmed(self, version: int, outcomes: tuple[str, ...]) -> None:
        self.warmed.append((version, outcomes))

    def put(self, version: int, outcome: str) -> None:
        with self._lock:
            self.waiting.append((version, (outcome,)))
        self.wake()

    def _claim(self) -> Run:
        with self._lock:
            run, self.waiting = self.waiting, []
        return run

    def _compute(self, run: Run) -> tuple[list[Concluded], dict[int, BaseException], list[int]]:
        self.concluded.extend(version for version, _ in run)
        return [Concluded(v, datetime.now(UTC), (), ()) for v, _ in run], {}, []

    def _store(self, run: list[Concluded]) -> None:
        pass


def test_a_woken_worker_waits_the_settle_delay_and_stop_ends_the_wait() -> None:
    worker = _Counting(settle=30.0)
    stop, thread = _running(worker)
    worker.wake()
    time.sleep(0.3)
    assert worker.drains == 1  # woken, still settling
    _stopped(worker, stop, thread)
    assert worker.drains == 1


def test_without_a_settle_delay_a_wake_drains_at_once() -> None:
    worker = _Counting(settle=0.0)
    stop, thread = _running(worker)
    worker.wake()
    assert _until(lambda: worker.drains == 2)
    _stopped(worker, stop, thread)


def test_the_loop_warms_once_no_commit_came_within_the_warm_settle_delay() -> None:
    worker = _Outbox(warm_settle=0.05)
    worker.put(1, "a")
    stop, thread = _started(worker)
    assert _until(lambda: worker.warmed == [(1, ("a",))])
    _stopped(worker, stop, thread)


def test_a_commit_within_the_warm_settle_delay_comes_before_warming() -> None:
    worker = _Outbox(warm_settle=30.0)
    worker.put(1, "a")
    stop, thread = _started(worker)
    assert _until(lambda: worker.concluded == [1])
    worker.put(2, "b")  # while the first conclusion waits to be warmed
    assert _until(lambda: worker.concluded == [1, 2])
    assert worker.warmed == []  # stale before it was warmed; now both wait for a quiet moment
    _stopped(worker, stop, thread)
    assert worker.warmed == []
    worker.put(3, "c")
    assert worker.drain() == [3]  # out of the loop: warmed at once, what was due as well
    assert worker.warmed == [(3, ("a", "b", "c"))]


def test_a_drain_outside_the_loop_warms_at_once() -> None:
    worker = _Outbox(warm_settle=30.0)
    worker.put(1, "a")
    assert worker.drain() == [1]
    assert worker.warmed == [(1, ("a",))]
