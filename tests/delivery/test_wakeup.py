"""Workers wake when events commit: PostgreSQL's NOTIFY, sent in the outbox's transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from service.db.notifications import EventListener
from service.db.repositories.events import EventRepository
from tests.api.pooled_support import trial
from tests.delivery.support import World, committed_world, running_receiver, subscribe

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend")]


class RolledBackError(Exception):
    pass


def _announce_then_roll_back(world: World) -> None:
    with world.database.session(write=True) as session:
        EventRepository(session).announce()
        raise RolledBackError


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_commit_notifies_listeners_and_a_rollback_does_not(backend: str, tmp_path: Path) -> None:
    woken: list[float] = []
    stop = threading.Event()
    with committed_world(backend, tmp_path) as world:
        listener = EventListener.start_for(
            world.settings.database_url, lambda: woken.append(time.monotonic()), stop
        )
        if backend == "sqlite":
            assert listener is None  # nothing to listen to: SQLite's workers poll
            return
        assert listener is not None
        try:
            _wait(lambda: len(woken) == 1)  # connected: it wakes once, for what it missed
            with pytest.raises(RolledBackError):
                _announce_then_roll_back(world)
            response = world.client.post("/v1/studies", json=trial(), headers=world.admin)
            assert response.status_code == 201
            # Notifications arrive in commit order: had the rollback sent one, it would be here.
            _wait(lambda: len(woken) >= 2)
            time.sleep(0.1)
            assert len(woken) == 2
        finally:
            stop.set()
            listener.join()


def test_a_notified_worker_delivers_long_before_its_poll(backend: str, tmp_path: Path) -> None:
    poll = 30.0 if backend == "postgresql" else 0.05  # SQLite: only the poll finds events
    with (
        committed_world(backend, tmp_path, webhooks_poll_seconds=poll) as world,
        running_receiver() as rx,
    ):
        hook = subscribe(world, rx.url())
        worker = world.worker()
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            time.sleep(0.5)  # the worker has claimed nothing and sleeps
            for _ in range(2):
                response = world.client.post("/v1/studies", json=trial(), headers=world.admin)
                assert response.status_code == 201
            _wait(lambda: len(rx.received) == 2)
        finally:
            stop.set()
            worker.wake()
            thread.join(10)
        assert not thread.is_alive()  # woken to stop, not at the end of its 30 s sleep
        assert [got.verify(hook["secret"])["type"] for got in rx.received] == [
            "study.submitted"
        ] * 2
