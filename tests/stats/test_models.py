"""fit_random_effects against metafor 3.8-1, and its documented edge cases.

Reference values (reference/README.md) come from, for every dataset ``dat``::

    res <- rma(yi, vi, data = dat, method = M, test = T)   # M in EE, DL, HE, HS, HSk, SJ, ML,
    pred <- predict(res)                                   #   REML, EB, PM; T in z, knha, t

with convergence tolerances tightened to 1e-12. ``test = "knha"`` is our ``CiMethod.HKSJ``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from service.stats.errors import StatsInputError
from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.models import RandomEffectsFit, fit_random_effects
from tests.stats.conftest import assert_close

METHODS = [e.value for e in Tau2Estimator]
TESTS = {"z": CiMethod.Z, "knha": CiMethod.HKSJ, "t": CiMethod.T}

# Our field name for each field of a reference fit (see reference/README.md).
FIELDS = {
    "k": "k",
    "estimate": "estimate",  # coef(res)
    "se": "se",  # res$se
    "stat": "statistic",  # res$zval (a t value for knha and t)
    "pval": "p_value",  # res$pval
    "ci_lb": "ci_lower",  # res$ci.lb
    "ci_ub": "ci_upper",  # res$ci.ub
    "df": "df",  # res$ddf (NA for z)
    "tau2": "tau2",  # res$tau2
    "se_tau2": "se_tau2",  # res$se.tau2 (NA for EE)
    "I2": "i2",  # res$I2
    "H2": "h2",  # res$H2
    "Q": "q",  # res$QE
    "Q_df": "q_df",  # res$k - res$p
    "Q_pval": "q_p_value",  # res$QEp
    "pi_lb": "pi_lower",  # predict(res)$pi.lb (NA for EE)
    "pi_ub": "pi_upper",  # predict(res)$pi.ub
}


def reference_fit(reference: dict[str, Any], method: str, test: str) -> dict[str, Any]:
    """The reference entry for ``rma(yi, vi, method = method, test = test)``."""
    matches = [f for f in reference["fits"] if f["method"] == method and f["test"] == test]
    assert len(matches) == 1
    return matches[0]


@pytest.mark.parametrize("test", list(TESTS))
@pytest.mark.parametrize("method", METHODS)
def test_fit_matches_metafor(reference: dict[str, Any], method: str, test: str) -> None:
    # rma(yi, vi, method = method, test = test); predict(res)
    expected = reference_fit(reference, method, test)
    fit = fit_random_effects(
        reference["yi"],
        reference["vi"],
        estimator=Tau2Estimator.parse(method),
        ci_method=TESTS[test],
    )
    for theirs, ours in FIELDS.items():
        assert_close(getattr(fit, ours), expected[theirs], what=f"{method}/{test} {theirs}")
    assert fit.converged
    assert fit.heterogeneity_estimable


def test_weights_are_inverse_marginal_variances(reference: dict[str, Any]) -> None:
    # weights(res) is in percent of sum(1 / (vi + tau2))
    fit = fit_random_effects(reference["yi"], reference["vi"])
    vi = np.asarray(reference["vi"])
    np.testing.assert_allclose(fit.weights, 1.0 / (vi + fit.tau2), rtol=1e-12)
    assert math.isclose(float(np.sum(fit.weights_percent)), 100.0)
    assert_close(fit.tau, math.sqrt(fit.tau2))


def test_tau2_is_truncated_at_zero() -> None:
    # Homogeneous studies: every estimator gives tau2 = 0 (DL, HE, HS, ML, REML truncate at 0).
    yi, vi = [0.1, 0.12, 0.11, 0.09], [0.04, 0.05, 0.06, 0.05]
    for estimator in Tau2Estimator:
        fit = fit_random_effects(yi, vi, estimator=estimator)
        assert fit.tau2 >= 0.0
        if estimator is not Tau2Estimator.SJ:  # SJ is strictly positive unless all yi are equal
            assert fit.tau2 == 0.0, estimator
            assert fit.i2 == 0.0
        if estimator not in (Tau2Estimator.SJ, Tau2Estimator.EE):  # EE: H2 = Q / df
            assert fit.h2 == 1.0


# ---------------------------------------------------------------- edge cases


def test_single_study_is_its_own_estimate() -> None:
    fit = fit_random_effects([0.4], [0.09], ci_method=CiMethod.HKSJ)
    assert (fit.k, fit.estimate, fit.se, fit.tau2, fit.tau) == (1, 0.4, 0.3, 0.0, 0.0)
    assert_close(fit.ci_lower, 0.4 - 1.959963984540054 * 0.3)
    assert fit.ci_method is CiMethod.Z
    assert fit.df is None
    assert (fit.i2, fit.h2, fit.q, fit.q_p_value, fit.se_tau2) == (None, None, None, None, None)
    assert (fit.pi_lower, fit.pi_upper) == (None, None)
    assert not fit.heterogeneity_estimable
    assert len(fit.warnings) == 2  # one study; z used instead of hksj


def test_two_studies() -> None:
    # rma(c(0.1, 0.5), c(0.01, 0.02), method = "DL"): Q = 0.16 / 0.03 = 5.33, tau2 = (Q - 1) / trP
    fit = fit_random_effects([0.1, 0.5], [0.01, 0.02], estimator=Tau2Estimator.DL)
    w = np.array([100.0, 50.0])
    tr_p = w.sum() - (w**2).sum() / w.sum()
    assert_close(fit.q, 0.16 / 0.03)
    assert_close(fit.tau2, (0.16 / 0.03 - 1.0) / tr_p)
    assert fit.q_df == 1
    assert fit.df is None


def test_equal_variances_and_equal_effects() -> None:
    fit = fit_random_effects([0.3] * 5, [0.1] * 5, ci_method=CiMethod.HKSJ)
    assert (fit.estimate, fit.tau2, fit.q, fit.i2) == (pytest.approx(0.3), 0.0, 0.0, 0.0)
    # metafor's Knapp-Hartung factor is 0 here (se 0); we keep the unscaled variance instead.
    assert_close(fit.se, math.sqrt(0.1 / 5))
    assert any("Knapp-Hartung" in w for w in fit.warnings)
    assert all(math.isfinite(x) for x in (fit.statistic, fit.p_value, fit.ci_lower))


def test_equal_effects_has_no_prediction_interval() -> None:
    fit = fit_random_effects([0.1, 0.3, 0.6], [0.01, 0.02, 0.03], estimator=Tau2Estimator.EE)
    assert (fit.tau2, fit.se_tau2, fit.pi_lower, fit.pi_upper) == (0.0, None, None, None)


def test_fixed_tau2_skips_estimation() -> None:
    # rma(yi, vi, tau2 = 0.05): tau2 kept, se.tau2 from the REML information at that value
    fit = fit_random_effects([0.1, 0.3, 0.6], [0.01, 0.02, 0.03], tau2=0.05)
    assert fit.tau2 == 0.05
    w = 1.0 / (np.array([0.01, 0.02, 0.03]) + 0.05)
    assert_close(fit.estimate, float(np.dot(w, [0.1, 0.3, 0.6]) / w.sum()))
    assert fit.se_tau2 is not None


def test_non_convergence_is_reported() -> None:
    fit = fit_random_effects([0.1, 0.9, -0.4, 0.5], [0.01, 0.02, 0.03, 0.01], max_iter=1)
    assert not fit.converged
    assert fit.iterations <= 2  # one Fisher step, then at most one bracketing step
    assert any("did not converge" in w for w in fit.warnings)


def test_oscillating_fisher_scoring_falls_back_to_the_score_root() -> None:
    # Fisher scoring cycles on these studies (metafor stops: "did not converge"); the bracketing
    # fallback must land on the REML maximum whatever the order of the studies.
    yi = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    vi = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 0.125])
    fit = fit_random_effects(yi, vi)
    assert fit.converged
    assert any("oscillated" in w for w in fit.warnings)
    reversed_fit = fit_random_effects(yi[::-1], vi[::-1])
    assert_close(reversed_fit.tau2, fit.tau2)
    assert_close(reversed_fit.estimate, fit.estimate)

    def restricted_log_likelihood(tau2: float) -> float:
        w = 1.0 / (vi + tau2)
        mu = float(np.dot(w, yi) / w.sum())
        return float(
            -0.5 * np.sum(np.log(vi + tau2))
            - 0.5 * np.log(w.sum())
            - 0.5 * np.dot(w, (yi - mu) ** 2)
        )

    best = restricted_log_likelihood(fit.tau2)
    for step in (1e-4, 1e-3, 1e-2):
        assert best >= restricted_log_likelihood(fit.tau2 + step)
        assert best >= restricted_log_likelihood(max(fit.tau2 - step, 0.0))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"yi": [0.1, 0.2], "vi": [0.1]}, "vi"),
        ({"yi": [], "vi": []}, "yi"),
        ({"yi": [0.1, float("nan")], "vi": [0.1, 0.1]}, "yi"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.0]}, "vi"),
        ({"yi": [0.1, 0.2], "vi": [0.1, -1.0]}, "vi"),
        ({"yi": [0.1, 0.2], "vi": [0.1, float("inf")]}, "vi"),
        ({"yi": [[0.1, 0.2]], "vi": [0.1, 0.1]}, "yi"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.1], "level": 1.0}, "level"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.1], "level": 0.0}, "level"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.1], "tau2": -0.1}, "tau2"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.1], "max_iter": 0}, "max_iter"),
    ],
)
def test_invalid_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(StatsInputError) as info:
        fit_random_effects(**kwargs)
    assert info.value.field == field


def test_estimator_names_parse() -> None:
    assert Tau2Estimator.parse("reml") is Tau2Estimator.REML
    assert Tau2Estimator.parse("hsk") is Tau2Estimator.HSK
    assert Tau2Estimator.parse("FE") is Tau2Estimator.EE
    with pytest.raises(StatsInputError) as info:
        Tau2Estimator.parse("XYZ")
    assert info.value.field == "estimator"


def test_fit_is_frozen() -> None:
    fit = fit_random_effects([0.1, 0.3], [0.01, 0.02])
    assert isinstance(fit, RandomEffectsFit)
    with pytest.raises(AttributeError):
        fit.estimate = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("estimator", [Tau2Estimator.REML, Tau2Estimator.ML, Tau2Estimator.EB])
def test_likelihood_estimators_survive_information_that_rounds_to_zero(
    estimator: Tau2Estimator,
) -> None:
    # One study 1e12 times more precise than the other two (variances at the store's bounds):
    # the REML information rounded to 0 and the Fisher step divided by it (a 500 from
    # leave-one-out in a pooled answer). The bracketing fallback answers instead.
    yi, vi = np.array([0.3, 0.25, -1.0]), np.array([99.9, 1.001e-4, 99.9]) ** 2
    fit = fit_random_effects(yi, vi, estimator=estimator)
    assert fit.converged
    assert fit.tau2 == 0.0
    assert fit.estimate == pytest.approx(0.25, abs=1e-9)
