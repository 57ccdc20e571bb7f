"""Concurrent writers on a database of their own, with transactions that really commit.

Eight threads write at once through the use cases (each request's unit of work, as the API
runs it): versions must come out gapless (1..N), every study exactly once with one current
revision, and of eight simultaneous submissions of one DOI exactly one may win.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.db.engine import Database
from service.db.models import (
    AuditEntry,
    EvidenceChange,
    EvidenceHead,
    EvidenceVersion,
    Study,
    StudyRevision,
)
from service.errors import ConflictError
from service.schemas.studies import StudyCreate, StudyUpdate
from service.usecases.studies.curation import include_study
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study, update_study
from tests.api.studies_support import committed_settings
from tests.factories import peer_group_trial

pytestmark = pytest.mark.db

THREADS = 8
STUDIES_PER_THREAD = 3
SHARED_DOI = "10.5555/lma.shared"


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[Database]:
    with committed_settings(backend, tmp_path) as settings:
        database = Database.from_settings(settings)
        yield database
        database.dispose()


def _writer(database: Database, thread: int, start: threading.Barrier) -> bool:
    """Three creations, an inclusion, an update, and a try at the shared DOI; True if it won."""
    context = WriteContext(
        actor=f"writer-{thread}", request_id=None, may_curate=False, trusted=False
    )
    curator = WriteContext(
        actor=f"curator-{thread}", request_id=None, may_curate=True, trusted=True
    )
    start.wait(10)
    ids = []
    for index in range(STUDIES_PER_THREAD):
        body = StudyCreate.model_validate(peer_group_trial(title=f"thread {thread} study {index}"))
        with database.session(write=True) as session:
            ids.append(create_study(session, body, context).study.id)
    with database.session(write=True) as session:
        include_study(session, ids[0], curator)
    with database.session(write=True) as session:
        patch = StudyUpdate(title=f"thread {thread} study 1, revised")
        update_study(session, ids[1], patch, context, if_match="*")
    shared = StudyCreate.model_validate(
        peer_group_trial(title=f"shared by {thread}", doi=SHARED_DOI)
    )
    try:
        with database.session(write=True) as session:
            create_study(session, shared, context)
    except ConflictError:
        return False
    return True


def test_concurrent_writers_get_gapless_versions_and_lose_no_study(database: Database) -> None:
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(_writer, database, thread, start) for thread in range(THREADS)]
        winners = [future.result(timeout=120) for future in futures]
    assert winners.count(True) == 1

    writes = THREADS * (STUDIES_PER_THREAD + 2) + 1
    with database.session() as session:
        numbers = session.scalars(select(EvidenceVersion.number).order_by(EvidenceVersion.number))
        assert list(numbers) == list(range(1, writes + 1))
        assert session.scalar(select(EvidenceHead.version)) == writes
        assert session.scalar(select(func.count()).select_from(EvidenceChange)) == writes
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == writes
        assert session.scalar(select(func.count()).select_from(Study)) == THREADS * 3 + 1
        current = session.scalars(select(StudyRevision).where(StudyRevision.valid_to.is_(None)))
        titles = Counter(revision.title for revision in current)
    expected = {f"thread {t} study {i}" for t in range(THREADS) for i in (0, 2)}
    expected |= {f"thread {t} study 1, revised" for t in range(THREADS)}
    assert {title for title in titles if not title.startswith("shared")} == expected
    assert set(titles.values()) == {1}


def test_revisions_of_each_study_tile_the_versions(database: Database) -> None:
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(_writer, database, t, start) for t in range(THREADS)]:
            future.result(timeout=120)
    with database.session() as session:
        rows = session.execute(
            select(
                StudyRevision.study_id, StudyRevision.valid_from, StudyRevision.valid_to
            ).order_by(StudyRevision.study_id, StudyRevision.valid_from)
        ).all()
    chains: dict[int, list[tuple[int, int | None]]] = {}
    for study_id, valid_from, valid_to in rows:
        chains.setdefault(study_id, []).append((valid_from, valid_to))
    for chain in chains.values():
        # Each revision ends exactly where the next begins; only the last is open.
        assert [end for _, end in chain[:-1]] == [begin for begin, _ in chain[1:]]
        assert chain[-1][1] is None
