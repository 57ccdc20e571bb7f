"""``--dist loadgroup`` keeps an ``xdist_group`` on one worker, as ``make test`` relies on.

The browser tests share one seeded server and one Chromium per worker (tests/web): spread over
both workers, each pays the 13-20 s set-up. pytest 9.2 with pytest-xdist 3.8 ignored the
mark without a word (pytest-dev/pytest-xdist#1386); pyproject.toml pins pytest below 9.2, and
this test fails if a new pair of versions breaks the grouping again.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

GROUPED = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("together")


@pytest.mark.parametrize("n", range(8))
def test_records_its_worker(n):
    with open("workers.txt", "a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")


@pytest.mark.parametrize("n", range(8))
def test_elsewhere(n):
    pass
"""


def test_a_group_runs_on_one_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_grouped=GROUPED)
    # Only xdist: the other installed plugins (schemathesis, hypothesis, coverage) would add
    # seconds to each of the three interpreters' start-up and have no part in the grouping.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--dist", "loadgroup")
    result.assert_outcomes(passed=16)
    workers = (pytester.path / "workers.txt").read_text().split()
    assert len(workers) == 8
    assert len(set(workers)) == 1, workers
