"""The version probe of the fast read path sees every commit of other connections at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from service.db.engine import Database
from service.db.head_probe import head_probe_for

pytestmark = pytest.mark.db

BUMP = text("UPDATE evidence_head SET version = version + :step WHERE id = 1")


@pytest.fixture
def committed_head(database: Database) -> Iterator[Database]:
    """The test commits to the version counters for real; this puts them back afterwards."""
    with database.write_engine.connect() as connection:
        before = connection.exec_driver_sql(
            "SELECT version, surveillance_version FROM evidence_head"
        ).one()
    yield database
    with database.write_engine.begin() as connection:
        connection.execute(
            text("UPDATE evidence_head SET version = :v, surveillance_version = :s"),
            {"v": before[0], "s": before[1]},
        )


def _bump(database: Database, step: int) -> None:
    with database.write_engine.begin() as connection:
        connection.execute(BUMP, {"step": step})


def test_the_probe_reads_each_commit_of_another_connection(committed_head: Database) -> None:
    probe = head_probe_for(committed_head.url)
    assert probe is not None

    async def heads() -> list[int | None]:
        seen = [await probe.head(), await probe.head()]
        for step in (3, 4):
            _bump(committed_head, step)
            seen.append(await probe.head())
        await probe.close()
        seen.append(await probe.head())  # reconnects after close
        await probe.close()
        return seen

    first, again, *rest = asyncio.run(heads())
    assert first is not None
    assert [again, *rest] == [first, first + 3, first + 7, first + 7]


def test_the_probe_reads_the_candidates_write_counter_with_the_version(
    committed_head: Database,
) -> None:
    """A search run or a screening decision moves only the second counter (issue 28); the
    probe must see it at once, or the fast path would answer with a stale ongoing count."""
    probe = head_probe_for(committed_head.url)
    assert probe is not None
    touch = text("UPDATE evidence_head SET surveillance_version = surveillance_version + 1")

    async def states() -> list[tuple[int, int] | None]:
        seen = [await probe.state()]
        with committed_head.write_engine.begin() as connection:
            connection.execute(touch)
        seen.append(await probe.state())
        _bump(committed_head, 2)
        seen.append(await probe.state())
        await probe.close()
        return seen

    first, touched, bumped = asyncio.run(states())
    assert first is not None
    version, counter = first
    assert [touched, bumped] == [(version, counter + 1), (version + 2, counter + 1)]


def test_in_memory_sqlite_has_no_probe() -> None:
    assert head_probe_for("sqlite://") is None
    assert head_probe_for("sqlite:///:memory:") is None
