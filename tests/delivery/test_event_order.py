"""Concurrent writers: event ids are gapless and follow the evidence versions (commit order)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from service.db.engine import Database
from service.db.models import Event
from service.schemas.studies import StudyCreate
from service.settings import Settings
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study
from tests.api.pooled_support import trial
from tests.delivery.support import committed_database

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend")]
WRITERS, WRITES = 4, 5


def test_concurrent_writes_number_events_in_version_order(backend: str, tmp_path: Path) -> None:
    with committed_database(backend, tmp_path) as url:
        database = Database.from_settings(Settings(database_url=url))
        context = WriteContext(actor="bot", request_id=None, may_curate=True, trusted=True)
        errors: list[BaseException] = []

        def write() -> None:
            try:
                for _ in range(WRITES):
                    with database.session(write=True) as session:
                        create_study(session, StudyCreate.model_validate(trial()), context)
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=write) for _ in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with database.session() as session:
            rows = session.execute(
                select(Event.id, Event.evidence_version).order_by(Event.id)
            ).all()
        database.dispose()
        assert errors == []
        assert [row.id for row in rows] == list(range(1, len(rows) + 1))
        versions = [row.evidence_version for row in rows]
        assert versions == sorted(versions)
        assert set(versions) == set(range(1, WRITERS * WRITES + 1))
