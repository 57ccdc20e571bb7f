"""The conclusions worker in a background thread: the API's own (lifespan) and ``lma worker``'s."""

from __future__ import annotations

import threading
from collections.abc import Callable

from service.db.engine import Database
from service.db.notifications import CONCLUSIONS_CHANNEL, EventListener
from service.settings import Settings
from service.usecases.conclusions.worker import ConclusionsWorker, WorkerTiming
from service.usecases.pooled.effects import SelectionMemo
from service.usecases.studies.outbox import on_commit


def worker_for(
    database: Database,
    settings: Settings,
    *,
    memo: SelectionMemo | None = None,
    after_conclusion: Callable[[int, tuple[str, ...]], None] | None = None,
) -> ConclusionsWorker:
    """A worker on ``database`` with the settings' lease, polling and retry delays."""
    timing = WorkerTiming(
        lease=settings.conclusions_lease_seconds,
        poll=settings.conclusions_poll_seconds,
        retry=settings.conclusions_retry_seconds,
        settle=settings.conclusions_settle_seconds,
        warm_settle=settings.conclusions_warm_settle_seconds,
    )
    return ConclusionsWorker(
        lambda: database.session(write=False),
        lambda: database.session(write=True),
        memo=memo,
        timing=timing,
        after_conclusion=after_conclusion,
    )


def listen_for_versions(
    url: str, wake: Callable[[], None], stop: threading.Event
) -> EventListener | None:
    """On PostgreSQL, a started listener calling ``wake`` (a worker's) at every commit that
    queued a version, in any process (migration 0030's trigger), until ``stop``; on SQLite,
    None."""
    return EventListener.start_for(url, wake, stop, CONCLUSIONS_CHANNEL)


class BackgroundConclusions:
    """A :class:`ConclusionsWorker` running until :meth:`stop`, woken by every commit of a
    session that queued a version in this process and, on PostgreSQL (``listen_on``), in
    any other process."""

    def __init__(self, worker: ConclusionsWorker, *, listen_on: str | None = None) -> None:
        self.worker = worker
        self._listen_on = listen_on
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=worker.run, args=(self._stop,), name="conclusions", daemon=True
        )
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> BackgroundConclusions:
        self._unsubscribe = on_commit(self.worker.wake)
        self._thread.start()
        if self._listen_on is not None:
            listen_for_versions(self._listen_on, self.worker.wake, self._stop)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Stop after the version in hand (its transaction ends either way)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stop.set()  # the listener, if any, ends by itself (not waited for)
        self.worker.wake()
        self._thread.join(timeout)
