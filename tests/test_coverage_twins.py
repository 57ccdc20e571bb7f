"""Which tests run without coverage's tracer (tests/support/coverage_twins.py): the SQLite run
of a db test, except the storage and reliability tests; never a PostgreSQL or pure test."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.coverage_twins import untraced


def _item(nodeid: str, backend: str | None) -> Any:
    callspec = None if backend is None else SimpleNamespace(params={"backend": backend})
    return SimpleNamespace(nodeid=nodeid, callspec=callspec)


@pytest.mark.parametrize(
    ("nodeid", "on", "expected"),
    [
        ("tests/api/test_studies_read.py::test_filters[sqlite-a]", "sqlite", True),
        ("tests/api/test_studies_read.py::test_filters[postgresql-a]", "postgresql", False),
        ("tests/db/test_migrations.py::test_upgrade[sqlite]", "sqlite", False),
        ("tests/reliability/test_crash.py::test_kill[sqlite]", "sqlite", False),
        ("tests/stats/test_models.py::test_fit", None, False),
    ],
)
def test_only_sqlite_twins_outside_storage_run_untraced(
    nodeid: str, on: str | None, expected: bool
) -> None:
    assert untraced(_item(nodeid, on)) is expected


def test_the_twins_of_this_run_are_marked(request: pytest.FixtureRequest) -> None:
    marked = [item for item in request.session.items if untraced(item)]
    assert all(item.get_closest_marker("no_cover") for item in marked)
