"""fit_meta_regression against metafor 3.8-1, and the design builders.

Reference values (reference/README.md), rows with a missing moderator or group left out::

    rma(yi, vi, mods = ~ moderator, data = dat, method = "REML")                 # metaregression
    rma(yi, vi, mods = ~ moderator, data = dat, method = "REML", test = "knha")  # ...$knha
    rma(yi, vi, mods = ~ factor(groups), data = dat, method = "REML")            # moderator_factor
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from service.stats.errors import StatsInputError
from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.models import fit_random_effects
from service.stats.regression import (
    design_from_factor,
    design_with_intercept,
    fit_meta_regression,
)
from tests.stats.conftest import assert_close, load_reference

WITH_MODERATORS = ("raudenbush1985", "bangertdrowns2004")


def complete(reference: dict[str, Any], column: list[Any]) -> tuple[np.ndarray, np.ndarray, list]:
    """yi, vi and the column on the rows where the column is not missing (metafor's na.omit)."""
    keep = [i for i, x in enumerate(column) if x is not None]
    yi = np.asarray(reference["yi"])[keep]
    vi = np.asarray(reference["vi"])[keep]
    return yi, vi, [column[i] for i in keep]


@pytest.fixture(params=WITH_MODERATORS)
def moderated(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load_reference(request.param)


def test_metaregression_matches_metafor(moderated: dict[str, Any]) -> None:
    # rma(yi, vi, mods = ~ moderator, method = "REML")
    expected = moderated["metaregression"]
    yi, vi, x = complete(moderated, expected["moderator"])
    fit = fit_meta_regression(yi, vi, design_with_intercept(x))
    assert fit.k == expected["k"]
    assert_close(list(fit.coefficients), expected["coef"], what="coef")
    assert_close(list(fit.se), expected["se"], what="se")
    assert_close(fit.qm, expected["QM"], what="QM")
    assert_close(fit.qm_p_value, expected["QM_pval"], what="QM_pval")
    assert_close(fit.tau2, expected["tau2"], what="tau2")
    assert_close(fit.r2, expected["R2"], what="R2")
    assert (fit.qm_df, fit.df, fit.p) == (1, None, 2)


def test_metaregression_knha_matches_metafor(moderated: dict[str, Any]) -> None:
    # rma(yi, vi, mods = ~ moderator, method = "REML", test = "knha"): F on (1, k - 2) df
    expected = moderated["metaregression"]
    yi, vi, x = complete(moderated, expected["moderator"])
    fit = fit_meta_regression(yi, vi, design_with_intercept(x), ci_method=CiMethod.HKSJ)
    assert_close(list(fit.coefficients), expected["knha"]["coef"], what="coef")
    assert_close(list(fit.se), expected["knha"]["se"], what="se")
    assert_close(fit.qm, expected["knha"]["F"], what="F")
    assert_close(fit.qm_p_value, expected["knha"]["pval"], what="pval")
    assert fit.df == expected["k"] - 2


def test_factor_moderator_matches_metafor(moderated: dict[str, Any]) -> None:
    # rma(yi, vi, mods = ~ factor(groups), method = "REML")
    expected = moderated["moderator_factor"]
    yi, vi, groups = complete(moderated, expected["groups"])
    X, levels = design_from_factor(groups)
    assert list(levels) == expected["levels"]
    fit = fit_meta_regression(yi, vi, X)
    assert_close(list(fit.coefficients), expected["coef"], what="coef")
    assert_close(list(fit.se), expected["se"], what="se")
    assert_close(fit.qm, expected["QM"], what="QM")
    assert fit.qm_df == expected["QM_df"]
    assert_close(fit.qm_p_value, expected["QM_pval"], what="QM_pval")
    assert_close(fit.tau2, expected["tau2"], what="tau2")
    assert_close(fit.r2, expected["R2"], what="R2")


@pytest.mark.parametrize("estimator", list(Tau2Estimator))
@pytest.mark.parametrize("ci_method", list(CiMethod))
def test_intercept_only_equals_random_effects_fit(
    reference: dict[str, Any], estimator: Tau2Estimator, ci_method: CiMethod
) -> None:
    # rma(yi, vi, mods = ~ 1) is rma(yi, vi)
    yi, vi = reference["yi"], reference["vi"]
    ones = np.ones((len(yi), 1))
    reg = fit_meta_regression(yi, vi, ones, estimator=estimator, ci_method=ci_method)
    fit = fit_random_effects(yi, vi, estimator=estimator, ci_method=ci_method)
    pairs = [
        (reg.coefficients[0], fit.estimate),
        (reg.se[0], fit.se),
        (reg.p_values[0], fit.p_value),
        (reg.ci_lower[0], fit.ci_lower),
        (reg.tau2, fit.tau2),
        (reg.se_tau2, fit.se_tau2),
        (reg.qe, fit.q),
        (reg.i2, fit.i2),
        (reg.h2, fit.h2),
    ]
    for ours, theirs in pairs:
        assert_close(ours, theirs, rtol=1e-9)
    assert reg.r2 is None  # no moderators to explain anything
    assert reg.df == fit.df


def test_hat_values_equal_the_dense_formula(moderated: dict[str, Any]) -> None:
    # hatvalues(res) = diag(X (X'WX)^-1 X'W), built densely here only to check the O(k p^2) path
    expected = moderated["moderator_factor"]
    yi, vi, groups = complete(moderated, expected["groups"])
    X, _ = design_from_factor(groups)
    fit = fit_meta_regression(yi, vi, X)
    W = np.diag(1.0 / (vi + fit.tau2))
    dense = np.diag(X @ np.linalg.solve(X.T @ W @ X, X.T @ W))
    np.testing.assert_allclose(fit.hat, dense, rtol=1e-10)
    assert_close(float(np.sum(fit.hat)), X.shape[1])


@pytest.mark.parametrize("estimator", list(Tau2Estimator))
def test_every_estimator_fits_a_regression(
    moderated: dict[str, Any], estimator: Tau2Estimator
) -> None:
    expected = moderated["metaregression"]
    yi, vi, x = complete(moderated, expected["moderator"])
    fit = fit_meta_regression(yi, vi, design_with_intercept(x), estimator=estimator)
    assert fit.tau2 >= 0.0
    assert fit.converged
    values = [fit.qm, fit.qm_p_value, fit.qe, *fit.coefficients, *fit.se, *fit.p_values]
    assert all(np.isfinite(values))
    assert (fit.se_tau2 is None) == (estimator is Tau2Estimator.EE)


def test_design_builders() -> None:
    np.testing.assert_array_equal(design_with_intercept([2, 5]), [[1.0, 2.0], [1.0, 5.0]])
    X, levels = design_from_factor(["b", "a", "c", "a"])
    assert levels == ("a", "b", "c")
    np.testing.assert_array_equal(X, [[1, 1, 0], [1, 0, 0], [1, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize(
    "X",
    [
        [[1.0, 1.0], [1.0, 2.0]],  # wrong number of rows
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]],  # rank deficient
        [[1.0, np.nan], [1.0, 2.0], [1.0, 3.0]],  # not finite
        [[1.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 3.0, 3.0]],  # no residual degree of freedom
    ],
)
def test_invalid_design_names_x(X: list[list[float]]) -> None:
    with pytest.raises(StatsInputError) as info:
        fit_meta_regression([0.1, 0.2, 0.4], [0.1, 0.1, 0.1], X)
    assert info.value.field == "X"
