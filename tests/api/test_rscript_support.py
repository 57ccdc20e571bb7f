"""The R session that runs exported scripts (tests/api/rscript_support.py) keeps scripts apart,
reports R's errors, and survives a script that hangs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api import rscript_support
from tests.api.rscript_support import run_r

# R is a system package that make test installs (make test-fast, which installs none, skips
# the tests marked slow, as it does those that start servers).
pytestmark = pytest.mark.slow


def test_each_script_starts_with_no_variables_and_the_default_options(tmp_path: Path) -> None:
    first = run_r('x <- 41\noptions(digits = 3)\ncat("x = ", x + 1, "\\n", sep = "")', tmp_path)
    second = run_r(
        'cat(sprintf("seen = %d\\n", exists("x", inherits = TRUE)))\n'
        'cat(sprintf("digits = %d\\n", getOption("digits")))',
        tmp_path,
    )
    assert first == {"x": 42.0}
    assert second == {"seen": 0.0, "digits": 7.0}


def test_an_error_in_r_fails_with_r_s_message(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="no such thing"):
        run_r('cat("a = 1\\n")\nstop("no such thing")', tmp_path)
    assert run_r('cat("b = 2\\n")', tmp_path) == {"b": 2.0}


def test_a_script_that_hangs_fails_and_the_next_gets_a_new_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rscript_support, "TIMEOUT_SECONDS", 0.5)
    with pytest.raises(pytest.fail.Exception, match=r"ran longer than 0\.5 s"):
        run_r("Sys.sleep(30)", tmp_path)
    monkeypatch.undo()
    assert run_r('cat("c = 3\\n")', tmp_path) == {"c": 3.0}
