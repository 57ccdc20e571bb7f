"""Coverage for the SQLite twins of the database tests: run without coverage's tracer.

A db test runs on SQLite and on PostgreSQL through the same application code; the tracer
(CTracer: a C callback on every line of every Python frame, SQLAlchemy's and pydantic's
included) makes each run 2-3 times slower, and the second run reaches the same lines as the
first except dialect-specific ones. So the SQLite run of a db test is untraced (pytest-cov's
``no_cover``, here over setup and teardown too, where fixtures seed their evidence), except
under :data:`TRACED_EVERYWHERE`: the storage tests, where the dialects' own code paths are
(issue 24: "nothing less covered" is checked by the figure ``make test`` prints).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

UNTRACED_BACKEND = "sqlite"
TRACED_EVERYWHERE = ("tests/db/", "tests/reliability/", "tests/test_readme.py")


def untraced(item: pytest.Item) -> bool:
    """Whether ``item`` runs without coverage's tracer."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or callspec.params.get("backend") != UNTRACED_BACKEND:
        return False
    return not item.nodeid.split("::", 1)[0].startswith(TRACED_EVERYWHERE)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Marked once the items are chosen and ordered (tests/conftest.py), on the worker that
    runs them."""
    for item in session.items:
        if untraced(item):
            item.add_marker(pytest.mark.no_cover)


@contextmanager
def _paused(item: pytest.Item) -> Iterator[None]:
    plugin: Any = item.config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    if controller is None or item.get_closest_marker("no_cover") is None:
        yield
        return
    controller.pause()
    try:
        yield
    finally:
        controller.resume()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _paused(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with _paused(item):
        return (yield)
