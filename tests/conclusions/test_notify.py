"""Conclusions workers in other processes wake when a version commits (issue 23).

On PostgreSQL migration 0030's trigger on ``conclusion_job`` notifies ``lma_conclusions`` in
the write's transaction; a worker listening there (``lma worker``, another API replica)
concludes the version at once instead of at its next poll. Only a commit notifies. SQLite has
no notifications: its one process wakes its own worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from service.db.engine import Database
from service.db.notifications import CONCLUSIONS_CHANNEL
from service.db.repositories.conclusions import ConclusionRepository
from service.schemas.studies import StudyCreate
from service.settings import Settings
from service.usecases.conclusions.runner import listen_for_versions, worker_for
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study
from tests.api.pooled_support import trial
from tests.delivery.support import committed_database

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend")]
CURATOR = WriteContext(actor="curator", request_id=None, may_curate=True, trusted=True)
MIGRATIONS = Path(__file__).parents[2] / "migrations" / "versions"
MIGRATION = MIGRATIONS / "2026_12_08_0030_conclusion_job_notify.py"


class RolledBackError(Exception):
    pass


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _write(database: Database, *, roll_back: bool = False) -> None:
    """One study written in its own transaction; ``roll_back`` undoes it at the end."""
    with database.session(write=True) as session:
        create_study(session, StudyCreate.model_validate(trial()), CURATOR)
        if roll_back:
            raise RolledBackError


def _concluded(database: Database) -> int | None:
    with database.session() as session:
        return ConclusionRepository(session).backlog().newest_concluded


def test_the_migration_notifies_the_channel_the_workers_listen_on() -> None:
    assert f"pg_notify('{CONCLUSIONS_CHANNEL}', '')" in MIGRATION.read_text()


def test_a_committed_version_wakes_a_listening_worker_long_before_its_poll(
    backend: str, tmp_path: Path
) -> None:
    with committed_database(backend, tmp_path) as url:
        settings = Settings(
            database_url=url,
            conclusions_in_api=False,
            webhooks_deliver_in_api=False,
            conclusions_poll_seconds=60.0,
        )
        database = Database.from_settings(settings)
        worker = worker_for(database, settings)  # not subscribed to this process's commits
        woken: list[float] = []

        def wake() -> None:
            woken.append(time.monotonic())
            worker.wake()

        stop = threading.Event()
        listener = listen_for_versions(url, wake, stop)
        if backend == "sqlite":
            assert listener is None  # nothing to listen to: the API's own commits wake it
            database.dispose()
            return
        assert listener is not None
        drained: list[int] = []  # versions concluded by each drain of the worker's loop
        drain = worker.drain

        def counted(limit: int | None = None) -> list[int]:
            done = drain(limit)
            drained.append(len(done))
            return done

        worker.drain = counted  # type: ignore[method-assign]
        thread = threading.Thread(target=worker.run, args=(stop,))
        try:
            _wait(lambda: len(woken) == 1)  # connected: it wakes once, for what it missed
            thread.start()
            # Its first drain, then the one that wake-up asked for: now it sleeps out 60 s.
            _wait(lambda: len(drained) == 2)
            with pytest.raises(RolledBackError):
                _write(database, roll_back=True)  # a rollback notifies nobody
            _write(database)
            _wait(lambda: len(drained) == 3)  # long before the 60 s poll
            assert drained == [0, 0, 1]  # the notified drain concluded the version
            assert _concluded(database) is not None
            # Notifications arrive in commit order: had the rollback sent one, it would be here.
            assert len(woken) == 2
        finally:
            stop.set()
            worker.wake()
            if thread.is_alive():
                thread.join(10)
            listener.join()
        assert not thread.is_alive()
        database.dispose()
