"""Q-profile intervals for tau2, tau, I2 and H2 against metafor 3.8-1's confint.rma.uni.

Reference values: ``confint(rma(yi, vi, data = dat, method = M, test = T))`` for every
random-effects fit (``tau2_ci``, ``I2_ci``, ``H2_ci``; reference/README.md). The Q-profile
interval depends on the data only, not on the estimator, so every random-effects fit must carry
the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.heterogeneity import heterogeneity_intervals, q_profile_tau2
from service.stats.models import fit_random_effects
from tests.stats.conftest import assert_close

TESTS = {"z": CiMethod.Z, "knha": CiMethod.HKSJ, "t": CiMethod.T}


def random_effects_fits(reference: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in reference["fits"] if f["method"] != "EE"]


def test_reference_carries_intervals_for_every_random_effects_fit(
    reference: dict[str, Any],
) -> None:
    for fit in reference["fits"]:
        has_ci = fit.get("tau2_ci") is not None
        assert has_ci == (fit["method"] != "EE")


@pytest.mark.parametrize("method", [e.value for e in Tau2Estimator if e is not Tau2Estimator.EE])
def test_q_profile_matches_metafor(reference: dict[str, Any], method: str) -> None:
    for expected in [f for f in random_effects_fits(reference) if f["method"] == method]:
        # confint(rma(yi, vi, method = method, test = expected["test"]))
        fit = fit_random_effects(
            reference["yi"],
            reference["vi"],
            estimator=Tau2Estimator.parse(method),
            ci_method=TESTS[expected["test"]],
        )
        intervals = heterogeneity_intervals(fit)
        assert intervals is not None
        what = f"{method}/{expected['test']}"
        assert_close(list(intervals.tau2), expected["tau2_ci"], what=f"{what} tau2")
        assert_close(list(intervals.i2), expected["I2_ci"], what=f"{what} I2")
        assert_close(list(intervals.h2), expected["H2_ci"], what=f"{what} H2")
        assert_close(list(intervals.tau), [math.sqrt(x) for x in expected["tau2_ci"]])
        assert intervals.level == 0.95


def test_interval_contains_the_paule_mandel_estimate(reference: dict[str, Any]) -> None:
    # The PM estimate solves Q(tau2) = k - 1, which lies between the two chi-squared quantiles.
    fit = fit_random_effects(reference["yi"], reference["vi"], estimator=Tau2Estimator.PM)
    intervals = heterogeneity_intervals(fit)
    assert intervals is not None
    assert intervals.tau2[0] <= fit.tau2 <= intervals.tau2[1]


def test_none_without_a_random_effects_component() -> None:
    assert heterogeneity_intervals(fit_random_effects([0.3], [0.1])) is None
    ee = fit_random_effects([0.1, 0.5, 0.2], [0.1, 0.1, 0.2], estimator=Tau2Estimator.EE)
    assert heterogeneity_intervals(ee) is None


def test_homogeneous_data_give_the_null_set_as_zero() -> None:
    # Q(0) below the lower chi-squared quantile: metafor reports both bounds as 0 ("null set").
    fit = fit_random_effects([0.1, 0.1001, 0.0999, 0.1], [0.1, 0.1, 0.1, 0.1])
    intervals = heterogeneity_intervals(fit)
    assert intervals is not None
    assert intervals.tau2 == (0.0, 0.0)
    assert intervals.i2 == (0.0, 0.0)
    assert intervals.h2 == (1.0, 1.0)


def test_lower_bound_is_zero_when_q_is_moderate() -> None:
    y = np.array([0.0, 0.3, -0.2, 0.25, 0.1])
    v = np.full(5, 0.04)
    lower, upper = q_profile_tau2(y, v, np.ones((5, 1)), 0.95)
    assert lower == 0.0
    assert upper > 0.0
