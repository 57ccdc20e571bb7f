"""Small-study-effect tests against metafor 3.8-1 (reference/README.md), invariants, edge cases.

Reference values were produced in R with ``library(metafor)`` on each dataset's ``yi``/``vi``; the
R call sits beside each comparison.
"""

from __future__ import annotations

import math
from itertools import permutations
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.stats.bias import (
    METAFOR_DEFAULT_TOL,
    begg_test,
    egger_classic_test,
    egger_test,
    failsafe_n,
    trim_and_fill,
)
from service.stats.errors import StatsInputError
from service.stats.estimators import Tau2Estimator
from service.stats.models import fit_random_effects
from tests.stats.conftest import assert_close

finite = st.floats(-3, 3, allow_nan=False)
variance = st.floats(0.01, 1.0, allow_nan=False)


@st.composite
def studies(draw: st.DrawFn, min_k: int = 3, max_k: int = 12) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(min_k, max_k))
    yi = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    vi = np.array(draw(st.lists(variance, min_size=k, max_size=k, unique=True)))
    return yi, vi


# ---------------------------------------------------------------- metafor reference values


def test_egger_matches_metafor(reference: dict[str, Any]) -> None:
    # regtest(rma(yi, vi, method = "REML"))  (model = "rma", predictor = "sei")
    res = egger_test(reference["yi"], reference["vi"])
    ref = reference["egger"]
    assert_close(res.statistic, ref["stat"], what="zval")
    assert_close(res.p_value, ref["pval"], what="pval")
    assert_close(res.limit_estimate, ref["limit_estimate"], what="limit estimate")


def test_egger_classic_matches_metafor(reference: dict[str, Any]) -> None:
    # regtest(rma(yi, vi, method = "EE"), model = "lm")
    res = egger_classic_test(reference["yi"], reference["vi"])
    ref = reference["egger_classic"]
    assert_close(res.statistic, ref["stat"], what="tval")
    assert_close(res.p_value, ref["pval"], what="pval")
    assert res.df == ref["df"]
    assert_close(res.limit_estimate, ref["intercept_limit"], what="limit estimate")


def test_begg_matches_metafor(reference: dict[str, Any]) -> None:
    # ranktest(rma(yi, vi, method = "REML")): exact p for normand1999 (no ties), normal
    # approximation for raudenbush1985 and bangertdrowns2004 (tied variances)
    res = begg_test(reference["yi"], reference["vi"])
    assert_close(res.kendall_tau, reference["begg"]["kendall_tau"], what="tau")
    assert_close(res.p_value, reference["begg"]["pval"], what="pval")


@pytest.mark.parametrize("method", ["REML", "DL", "EE"])
def test_trim_and_fill_matches_metafor(reference: dict[str, Any], method: str) -> None:
    # trimfill(rma(yi, vi, method = method))  (estimator = "L0", side chosen by metafor)
    res = trim_and_fill(reference["yi"], reference["vi"], estimator=Tau2Estimator.parse(method))
    ref = reference["trimfill"][method]
    assert res.k0 == ref["k0"]
    assert res.side == ref["side"]
    assert_close(res.estimate, ref["estimate"], what="estimate")
    assert_close(res.se, ref["se"], what="se")
    assert_close(res.ci_lower, ref["ci_lb"], what="ci.lb")
    assert_close(res.ci_upper, ref["ci_ub"], what="ci.ub")
    assert_close(res.tau2, ref["tau2"], what="tau2")
    assert res.filled_yi.size == res.filled_vi.size == reference["k"] + ref["k0"]
    np.testing.assert_array_equal(res.filled_yi[: reference["k"]], reference["yi"])


def test_failsafe_matches_metafor(reference: dict[str, Any]) -> None:
    # fsn(yi, vi)  (type = "Rosenthal", alpha = .05)
    assert failsafe_n(reference["yi"], reference["vi"]) == reference["failsafe_rosenthal"]["n"]


# ---------------------------------------------------------------- invariants


def test_trim_and_fill_mirrors_under_sign_flip(reference: dict[str, Any]) -> None:
    yi, vi = np.asarray(reference["yi"]), np.asarray(reference["vi"])
    res, flipped = trim_and_fill(yi, vi), trim_and_fill(-yi, vi)
    assert flipped.k0 == res.k0
    assert {flipped.side, res.side} == {"left", "right"}
    assert_close(flipped.estimate, -res.estimate, what="estimate")
    np.testing.assert_allclose(np.sort(flipped.filled_yi), np.sort(-res.filled_yi), rtol=1e-8)


def test_trim_and_fill_imputes_mirror_images(reference: dict[str, Any]) -> None:
    """Filled studies are the k0 most extreme ones reflected about the trimmed estimate."""
    yi, vi = np.asarray(reference["yi"]), np.asarray(reference["vi"])
    res = trim_and_fill(yi, vi, side="left")
    k, k0 = yi.size, res.k0
    if k0 == 0:
        return
    largest = np.argsort(yi, kind="stable")[k - k0 :]
    centre = (res.filled_yi[k:] + yi[largest]) / 2
    np.testing.assert_allclose(centre, centre[0], rtol=1e-12)
    trimmed = np.argsort(yi, kind="stable")[: k - k0]
    # trimfill() fits the trimmed studies with rma()'s default tolerance, as trim_and_fill does
    trimmed_fit = fit_random_effects(yi[trimmed], vi[trimmed], tol=METAFOR_DEFAULT_TOL)
    assert_close(centre[0], trimmed_fit.estimate)
    np.testing.assert_array_equal(res.filled_vi[k:], vi[largest])


@settings(max_examples=40, deadline=None)
@given(studies(), st.randoms(use_true_random=False))
def test_bias_tests_ignore_study_order(data: tuple[np.ndarray, np.ndarray], rnd: Any) -> None:
    yi, vi = data
    perm = np.array(rnd.sample(range(yi.size), yi.size))
    assert failsafe_n(yi[perm], vi[perm]) == failsafe_n(yi, vi)
    for test in (egger_test, egger_classic_test, begg_test):
        a, b = _outcome(test, yi, vi), _outcome(test, yi[perm], vi[perm])
        if isinstance(a, StatsInputError) or isinstance(b, StatsInputError):
            assert type(a) is type(b), f"{test.__name__}: {a!r} vs {b!r}"
            continue
        for field in a.__slots__:
            assert getattr(b, field) == pytest.approx(getattr(a, field), rel=1e-6, abs=1e-9)


def _outcome(test: Any, yi: np.ndarray, vi: np.ndarray) -> Any:
    """The test's result, or the StatsInputError it raised (degenerate data must fail alike)."""
    try:
        return test(yi, vi)
    except StatsInputError as error:
        return error


@settings(max_examples=40, deadline=None)
@given(studies())
def test_sign_flip_negates_tests(data: tuple[np.ndarray, np.ndarray]) -> None:
    yi, vi = data
    a, b = _outcome(egger_classic_test, yi, vi), _outcome(egger_classic_test, -yi, vi)
    assert type(a) is type(b)
    if isinstance(a, StatsInputError):
        return
    assert b.statistic == pytest.approx(-a.statistic, rel=1e-9, abs=1e-12)
    assert b.limit_estimate == pytest.approx(-a.limit_estimate, rel=1e-9, abs=1e-12)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-12)
    c, d = begg_test(yi, vi), begg_test(-yi, vi)
    assert d.kendall_tau == pytest.approx(-c.kendall_tau, abs=1e-12)
    assert d.p_value == pytest.approx(c.p_value, rel=1e-9)
    assert failsafe_n(-yi, vi) == failsafe_n(yi, vi)


@settings(max_examples=60, deadline=None)
@given(studies(min_k=2, max_k=7))
def test_begg_exact_p_equals_permutation_distribution(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Without ties the p-value is the exact permutation p of Kendall's S (R's pkendall)."""
    yi, vi = data
    w = 1 / vi
    theta = np.sum(w * yi) / np.sum(w)
    x = (yi - theta) / np.sqrt(vi - 1 / np.sum(w))
    if np.unique(np.round(x, 12)).size < x.size or np.unique(vi).size < vi.size:
        return  # ties (equal effects differ only by rounding noise): normal approximation

    def s(y: tuple[float, ...]) -> float:
        return sum(
            np.sign(x[j] - x[i]) * np.sign(y[j] - y[i]) for i in range(len(y)) for j in range(i)
        )

    observed = abs(s(tuple(vi)))
    perms = list(permutations(vi))
    expected = sum(abs(s(p)) >= observed - 1e-9 for p in perms) / len(perms)
    res = begg_test(yi, vi)
    assert res.p_value == pytest.approx(expected, rel=1e-12)
    assert res.kendall_tau == pytest.approx(s(tuple(vi)) / (len(vi) * (len(vi) - 1) / 2))


def test_begg_exact_p_known_value() -> None:
    # cor.test(x, y, method = "kendall"): tau = -0.6 with n = 5 gives p = 2 * 14/120 = 7/30
    vi = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    yi = np.array([0.5, 0.1, 0.2, -0.3, -0.2]) * np.sqrt(vi)
    res = begg_test(yi, vi)
    assert res.kendall_tau == pytest.approx(-0.6)
    assert res.p_value == pytest.approx(7 / 30, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(studies(min_k=1), st.floats(0.1, 10))
def test_failsafe_invariant_to_units(data: tuple[np.ndarray, np.ndarray], scale: float) -> None:
    yi, vi = data
    # z_i = yi / sqrt(vi) is unit-free; the integer may move only if the value sits on an integer
    assert abs(failsafe_n(yi * scale, vi * scale**2) - failsafe_n(yi, vi)) <= 1


# ---------------------------------------------------------------- edge cases

K2 = (np.array([0.2, 0.6]), np.array([0.04, 0.09]))
K3 = (np.array([0.2, 0.6, 0.1]), np.array([0.04, 0.09, 0.02]))
EQUAL_VI = (np.array([0.2, 0.6, 0.1, 0.4]), np.full(4, 0.05))


@pytest.mark.parametrize("test", [egger_test, egger_classic_test, trim_and_fill])
def test_regression_based_methods_need_three_studies(test: Any) -> None:
    with pytest.raises(StatsInputError, match="at least 3 studies"):
        test(*K2)


def test_three_studies_are_enough() -> None:
    """k = 3 leaves one residual degree of freedom: every test is defined."""
    assert math.isfinite(egger_test(*K3).statistic)
    classic = egger_classic_test(*K3)
    assert classic.df == 1
    assert math.isfinite(classic.p_value)
    assert 0 <= begg_test(*K3).p_value <= 1
    assert trim_and_fill(*K3).k0 >= 0


def test_begg_with_two_studies_is_uninformative() -> None:
    """Two studies always give tau = +-1 and, exactly, p = 1 (as R's cor.test)."""
    res = begg_test(*K2)
    assert abs(res.kendall_tau) == 1
    assert res.p_value == 1


@pytest.mark.parametrize("test", [egger_test, egger_classic_test, begg_test])
def test_equal_variances_make_small_study_tests_undefined(test: Any) -> None:
    """The standard error is then collinear with the intercept (metafor stops) and Kendall's tau
    has a zero denominator (metafor returns NA): both raise."""
    with pytest.raises(StatsInputError, match="equal"):
        test(*EQUAL_VI)


def test_trim_and_fill_with_equal_variances_needs_a_side() -> None:
    with pytest.raises(StatsInputError) as err:
        trim_and_fill(*EQUAL_VI)
    assert err.value.field == "side"
    assert trim_and_fill(*EQUAL_VI, side="left").k0 >= 0


def test_trim_and_fill_rejects_unknown_side() -> None:
    with pytest.raises(StatsInputError):
        trim_and_fill(*K3, side="up")


def test_failsafe_is_zero_without_an_effect() -> None:
    assert failsafe_n([0.1, -0.1], [0.04, 0.04]) == 0
    with pytest.raises(StatsInputError):
        failsafe_n([0.1, 0.2], [0.04, 0.04], alpha=0.5)


@pytest.mark.parametrize(
    ("yi", "vi"),
    [
        ([0.1, 0.2, 0.3], [0.1, 0.0, 0.2]),
        ([0.1, np.nan, 0.3], [0.1, 0.1, 0.2]),
        ([0.1], [0.1, 0.2]),
    ],
)
def test_invalid_input_is_rejected(yi: list[float], vi: list[float]) -> None:
    for test in (egger_test, egger_classic_test, begg_test, trim_and_fill, failsafe_n):
        with pytest.raises(StatsInputError):
            test(yi, vi)


@pytest.mark.parametrize("value", [1e6, -3.0, 0.25])
def test_trim_and_fill_of_identical_effects_fills_nothing(value: float) -> None:
    # Every effect equals the estimate: rounding noise in yi - beta once decided the ranks,
    # and k0 flipped between 0 and 1 until the iteration limit (a 500 through the API).
    result = trim_and_fill(
        np.full(3, value), np.array([1.0, 1000.0, 1000.0]), estimator=Tau2Estimator.EE
    )
    assert result.k0 == 0
    assert result.estimate == pytest.approx(value, rel=1e-12)
