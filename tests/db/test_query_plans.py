"""Query plans the write path relies on (issue 23).

SQLite chooses an index without statistics of the data, by the shape of the query; these pin
the choice that keeps a write's cost flat as the evidence grows, on a migrated SQLite database
of their own. PostgreSQL chooses by its statistics, so a plan there says little about a small
test database: these run on SQLite only, by construction rather than by a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from service.db.repositories.studies import StudyRepository
from tests.support.databases import migrated_database


@pytest.fixture
def sqlite_session(tmp_path: Path) -> Iterator[Session]:
    """A session on a migrated SQLite database of the test's own."""
    with migrated_database("sqlite", tmp_path) as url:
        engine = create_engine(url)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()


def _plan_of(session: Session, call: Any) -> str:
    """The plan of the one statement ``call`` runs, as SQLite's EXPLAIN QUERY PLAN shows it."""
    seen: list[tuple[str, Any]] = []
    connection = session.connection()

    def record(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(connection, "before_cursor_execute", record)
    [(statement, parameters)] = seen
    raw = connection.connection.driver_connection
    assert raw is not None
    rows = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


def test_near_duplicate_candidates_are_narrowed_by_registration_id_in_the_index(
    sqlite_session: Session,
) -> None:
    session = sqlite_session
    session.execute(text("SELECT 1"))
    repository = StudyRepository(session)
    plan = _plan_of(
        session,
        lambda: repository.near_duplicate_authors({2015, 2016, 2017}, registration_ids=["R1"]),
    )
    # Led by (valid_to, year, registration_id): a revision with another registration id is
    # left out in the index, its row never read (~1,100 rows per write at 10,000 studies).
    assert "ix_study_revision_valid_to_year_registration_id" in plan, plan
