"""The storage/pure split cannot rot: a test that reaches the database fixtures without the
``db`` marker fails (tests/conftest.py's ``pytest_runtest_setup``); a ``dialect_free`` one runs
on one backend, PostgreSQL, unless ``--all-backends`` asks for every one."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
from tests.conftest import (
    backend, pytest_addoption, pytest_collection_modifyitems, pytest_runtest_setup
)


def pytest_configure(config):
    config.addinivalue_line("markers", "db: storage")
    config.addinivalue_line("markers", "dialect_free: one backend")
"""


def _run(pytester: pytest.Pytester, module: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sample=module)
    return pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider", "-q")


def test_a_storage_test_without_the_marker_fails(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "def test_reads(backend):\n    assert backend\n")
    result.assert_outcomes(errors=2)  # once per backend
    result.stdout.fnmatch_lines(["*uses the database fixtures*not marked db*"])


def test_a_marked_storage_test_runs_on_both_backends(pytester: pytest.Pytester) -> None:
    module = "import pytest\npytestmark = pytest.mark.db\ndef test_reads(backend):\n    pass\n"
    _run(pytester, module).assert_outcomes(passed=2)


def test_a_pure_test_runs_once_without_the_marker(pytester: pytest.Pytester) -> None:
    _run(pytester, "def test_adds():\n    assert 1 + 1 == 2\n").assert_outcomes(passed=1)


def test_backends_option_narrows_the_storage_tests(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    module = "import pytest\npytestmark = pytest.mark.db\ndef test_reads(backend):\n    pass\n"
    pytester.makepyfile(test_sample=module)
    result = pytester.runpytest_inprocess("-p", "no:randomly", "--backends=sqlite", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_reads?sqlite?*PASSED*"])


DIALECT_FREE = (
    "import pytest\npytestmark = [pytest.mark.db, pytest.mark.dialect_free]\n"
    "def test_reads(backend):\n    pass\n"
)


def _run_verbose(pytester: pytest.Pytester, module: str, *args: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sample=module)
    return pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider", "-v", *args)


def test_a_dialect_free_test_runs_on_postgresql_only(pytester: pytest.Pytester) -> None:
    result = _run_verbose(pytester, DIALECT_FREE)
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_reads?postgresql?*PASSED*"])


def test_all_backends_runs_a_dialect_free_test_everywhere(pytester: pytest.Pytester) -> None:
    _run_verbose(pytester, DIALECT_FREE, "--all-backends").assert_outcomes(passed=2)


def test_a_dialect_free_test_runs_on_the_one_backend_chosen(pytester: pytest.Pytester) -> None:
    result = _run_verbose(pytester, DIALECT_FREE, "--backends=sqlite")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_reads?sqlite?*PASSED*"])


def test_dialect_free_without_db_fails(pytester: pytest.Pytester) -> None:
    module = "import pytest\npytestmark = pytest.mark.dialect_free\ndef test_adds():\n    pass\n"
    result = _run_verbose(pytester, module)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*marked dialect_free but not db*"])


def test_no_module_parametrizes_the_backend_directly() -> None:
    """``@pytest.mark.parametrize("backend", [...])`` makes a second fixture definition of
    ``backend``: the session fixtures built on it (the database, the shared app) are then not
    rebuilt when the next test switches backend, and a SQLite test ran on PostgreSQL (seen in a
    run that ordered tests by duration). One backend only: ``pytest.mark.dialect_free``."""
    tests = Path(__file__).parent
    direct = [
        str(path.relative_to(tests))
        for path in tests.rglob("test_*.py")
        if 'parametrize("backend"' in path.read_text() and path.name != Path(__file__).name
    ]
    assert direct == []
