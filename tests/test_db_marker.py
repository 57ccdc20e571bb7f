"""The storage/pure split cannot rot: a test that reaches the database fixtures without the
``db`` marker fails (tests/conftest.py's ``pytest_runtest_setup``)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
from tests.conftest import (
    backend, pytest_addoption, pytest_collection_modifyitems, pytest_runtest_setup
)


def pytest_configure(config):
    config.addinivalue_line("markers", "db: storage")
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
