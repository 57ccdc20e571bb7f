"""Concurrent writers and two conclusions workers: every version is concluded once, and event
ids are gapless and follow the evidence versions (commit order)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from service.db.engine import Database
from service.db.models import Event
from service.db.repositories.conclusions import ConclusionRepository
from service.schemas.studies import StudyCreate
from service.settings import Settings
from service.usecases.conclusions.runner import worker_for
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study
from tests.api.pooled_support import trial
from tests.delivery.support import committed_database

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend")]
WRITERS, WRITES = 4, 5
DEADLINE_SECONDS = 120


def wait_until_concluded(database: Database, versions: int) -> None:
    """Wait (with a deadline, never a fixed sleep) until every version is concluded."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        with database.session() as session:
            backlog = ConclusionRepository(session).backlog()
        if backlog.waiting == 0 and backlog.newest_concluded == versions:
            return
        time.sleep(0.05)
    raise AssertionError(f"not concluded in {DEADLINE_SECONDS} s: {backlog}")


def test_concurrent_writes_and_two_workers_conclude_each_version_once(
    backend: str, tmp_path: Path
) -> None:
    with committed_database(backend, tmp_path) as url:
        settings = Settings(database_url=url, conclusions_poll_seconds=0.05)
        database = Database.from_settings(settings)
        context = WriteContext(actor="bot", request_id=None, may_curate=True, trusted=True)
        errors: list[BaseException] = []

        def write() -> None:
            try:
                for _ in range(WRITES):
                    with database.session(write=True) as session:
                        create_study(session, StudyCreate.model_validate(trial()), context)
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        stop = threading.Event()
        workers = [worker_for(database, settings) for _ in range(2)]
        running = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
        threads = [threading.Thread(target=write) for _ in range(WRITERS)]
        for thread in [*running, *threads]:
            thread.start()
        for thread in threads:
            thread.join(60)
        try:
            wait_until_concluded(database, WRITERS * WRITES)
        finally:
            stop.set()
            for w in workers:
                w.wake()
            for thread in running:
                thread.join(60)
        with database.session() as session:
            rows = session.execute(
                select(Event.id, Event.evidence_version, Event.type).order_by(Event.id)
            ).all()
        database.dispose()
        assert errors == []
        assert [row.id for row in rows] == list(range(1, len(rows) + 1))
        versions = [row.evidence_version for row in rows]
        assert versions == sorted(versions)
        assert set(versions) == set(range(1, WRITERS * WRITES + 1))
        # Concluded once: one study event per version, never two.
        submitted = Counter(r.evidence_version for r in rows if r.type == "study.submitted")
        assert set(submitted.values()) == {1}
