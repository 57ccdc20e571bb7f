"""Conversions to SMD from t, F, p, SE and CI; cluster design effect; combining arms; direction.

Round trips check each conversion against :func:`smd_from_means` (itself checked against
metafor's ``escalc`` in test_effect_sizes.py); hand-worked values follow the cited formulas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from service.stats.conversions import (
    combine_arms,
    design_effect,
    effective_sample_size,
    harmonize_direction,
    smd_from_ci,
    smd_from_f,
    smd_from_p,
    smd_from_se,
    smd_from_t,
)
from service.stats.effect_sizes import VarianceType, smd_from_means
from service.stats.errors import StatsInputError

# Two arms: n, mean, SD. Their pooled-variance t statistic is computed by scipy from the summaries.
ARMS = (20, 5.0, 2.0, 22, 4.0, 2.5)


def _pooled_t(n1: float, m1: float, s1: float, n2: float, m2: float, s2: float) -> float:
    res = stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=True)
    return float(res.statistic)


# ---------------------------------------------------------------- t, F and p


def test_t_hand_computed() -> None:
    # d = t sqrt(1/n1 + 1/n2) (Lipsey and Wilson 2001, table B10): t = 2, n = 20 + 20
    res = smd_from_t(2.0, 20, 20)
    j38 = math.gamma(19) / (math.sqrt(19) * math.gamma(18.5))
    g = j38 * 2.0 * math.sqrt(0.1)
    assert res.yi[0] == pytest.approx(g, rel=1e-12)
    assert res.vi[0] == pytest.approx(0.1 + g**2 / 80, rel=1e-12)


@pytest.mark.parametrize("vtype", list(VarianceType))
def test_t_round_trip_equals_smd_from_means(vtype: VarianceType) -> None:
    t = _pooled_t(*ARMS)
    from_t = smd_from_t(t, ARMS[0], ARMS[3], variance_type=vtype)
    from_means = smd_from_means(*ARMS, variance_type=vtype)
    assert from_t.yi[0] == pytest.approx(from_means.yi[0], rel=1e-12)
    assert from_t.vi[0] == pytest.approx(from_means.vi[0], rel=1e-12)


def test_negative_t_gives_negative_g() -> None:
    swapped = (*ARMS[3:], *ARMS[:3])
    res = smd_from_t(_pooled_t(*swapped), ARMS[3], ARMS[0])
    assert res.yi[0] == pytest.approx(smd_from_means(*swapped).yi[0], rel=1e-12)
    assert res.yi[0] < 0


def test_f_is_t_squared_with_the_stated_direction() -> None:
    t = _pooled_t(*ARMS)
    for favours, sign in ((True, 1.0), (False, -1.0)):
        from_f = smd_from_f(t**2, ARMS[0], ARMS[3], favours_intervention=favours)
        from_t = smd_from_t(sign * t, ARMS[0], ARMS[3])
        assert from_f.yi[0] == pytest.approx(from_t.yi[0], rel=1e-12)
        assert from_f.vi[0] == pytest.approx(from_t.vi[0], rel=1e-12)


def test_f_agrees_with_one_way_anova_on_raw_data() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(1.0, 2.0, 25), rng.normal(0.0, 2.0, 31)
    f = stats.f_oneway(a, b).statistic
    favours = bool(a.mean() > b.mean())
    from_f = smd_from_f(f, 25, 31, favours_intervention=favours)
    from_means = smd_from_means(25, a.mean(), a.std(ddof=1), 31, b.mean(), b.std(ddof=1))
    assert from_f.yi[0] == pytest.approx(from_means.yi[0], rel=1e-10)


def test_p_round_trip_equals_smd_from_means() -> None:
    t = _pooled_t(*ARMS)
    p = 2 * stats.t.sf(abs(t), ARMS[0] + ARMS[3] - 2)
    from_p = smd_from_p(p, ARMS[0], ARMS[3], favours_intervention=True)
    from_means = smd_from_means(*ARMS)
    assert from_p.yi[0] == pytest.approx(from_means.yi[0], rel=1e-10)
    assert from_p.vi[0] == pytest.approx(from_means.vi[0], rel=1e-10)


def test_p_known_quantile() -> None:
    # qt(0.975, 38) = 2.024394164...: p = 0.05 with 20 + 20 is |t| = 2.0243942
    res = smd_from_p(0.05, 20, 20, favours_intervention=False)
    assert res.yi[0] == pytest.approx(smd_from_t(-2.024394164, 20, 20).yi[0], rel=1e-8)


def test_p_of_one_is_no_effect_and_tiny_p_stays_finite() -> None:
    res = smd_from_p([1.0, 1e-300], 30, 30, favours_intervention=True)
    assert res.yi[0] == 0.0
    assert np.isfinite(res.yi[1])
    assert res.yi[1] > 10


def test_direction_flags_can_be_given_per_study() -> None:
    res = smd_from_p([0.01, 0.01], 30, 30, favours_intervention=[True, False])
    assert res.yi[0] == -res.yi[1] > 0


# ---------------------------------------------------------------- SE and CI


def test_se_gives_its_square_as_variance() -> None:
    res = smd_from_se([0.4, -0.1], [0.2, 0.15])
    np.testing.assert_array_equal(res.yi, [0.4, -0.1])
    np.testing.assert_allclose(res.vi, [0.04, 0.0225], rtol=1e-15)


def test_ci_hand_computed() -> None:
    # Cochrane Handbook 6.3.1: SE = (upper - lower) / 3.92 for a 95% CI
    res = smd_from_ci(0.5, 0.108, 0.892)
    assert res.yi[0] == 0.5
    assert math.sqrt(res.vi[0]) == pytest.approx(0.784 / 3.92, rel=1e-3)
    assert math.sqrt(res.vi[0]) == pytest.approx(0.784 / (2 * 1.959963984540054), rel=1e-14)


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_ci_round_trip(level: float) -> None:
    se = 0.23
    z = stats.norm.ppf((1 + level) / 2)
    res = smd_from_ci(-0.31, -0.31 - z * se, -0.31 + z * se, level=level)
    assert math.sqrt(res.vi[0]) == pytest.approx(se, rel=1e-12)


def test_ci_that_misses_the_estimate_is_rejected() -> None:
    with pytest.raises(StatsInputError) as err:
        smd_from_ci(0.9, 0.1, 0.5)
    assert err.value.field == "effect"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lower": 0.5, "upper": 0.5}, "lower"),
        ({"lower": 0.6, "upper": 0.4}, "lower"),
        ({"level": 1.0}, "level"),
        ({"level": 0.0}, "level"),
        ({"level": 95}, "level"),
        ({"upper": math.inf}, "upper"),
    ],
)
def test_invalid_ci_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"effect": 0.5, "lower": 0.1, "upper": 0.9, **kwargs}
    with pytest.raises(StatsInputError) as err:
        smd_from_ci(**args)
    assert err.value.field == field


# ---------------------------------------------------------------- validation of t, F, p, SE


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: smd_from_t(2.0, 1, 20), "n1"),
        (lambda: smd_from_t(math.nan, 20, 20), "t"),
        (lambda: smd_from_f(-1.0, 20, 20, favours_intervention=True), "f"),
        (lambda: smd_from_f(4.0, 20, 0, favours_intervention=True), "n2"),
        (lambda: smd_from_f(4.0, 20, 20, favours_intervention=1), "favours_intervention"),
        (lambda: smd_from_p(0.0, 20, 20, favours_intervention=True), "p"),
        (lambda: smd_from_p(1.2, 20, 20, favours_intervention=True), "p"),
        (
            lambda: smd_from_p([0.1] * 3, 20, 20, favours_intervention=[True] * 2),
            "favours_intervention",
        ),
        (lambda: smd_from_se(0.3, 0.0), "se"),
        (lambda: smd_from_se([0.3, 0.2], [0.1, 0.1, 0.1]), "se"),
        (lambda: smd_from_t(2.0, 20, 20, variance_type="XX"), "variance_type"),
    ],
)
def test_invalid_statistics_name_the_field(call: Any, field: str) -> None:
    with pytest.raises(StatsInputError) as err:
        call()
    assert err.value.field == field


# ---------------------------------------------------------------- cluster trials


def test_design_effect_example() -> None:
    # Cochrane Handbook 23.1.4: mean cluster size 20, ICC 0.05 -> 1 + 19 * 0.05 = 1.95
    assert design_effect(20, 0.05)[0] == pytest.approx(1.95, rel=1e-15)
    np.testing.assert_allclose(
        effective_sample_size([110, 112], mean_cluster_size=20, icc=0.05),
        [110 / 1.95, 112 / 1.95],
        rtol=1e-15,
    )


def test_no_clustering_leaves_n_unchanged() -> None:
    assert design_effect(1, 0.3)[0] == 1.0
    assert effective_sample_size(50, mean_cluster_size=12, icc=0.0)[0] == 50.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"icc": 1.0}, "icc"),
        ({"icc": -0.01}, "icc"),
        ({"mean_cluster_size": 0.5}, "mean_cluster_size"),
        ({"n": 0}, "n"),
    ],
)
def test_invalid_cluster_design_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"n": 100, "mean_cluster_size": 10, "icc": 0.05, **kwargs}
    with pytest.raises(StatsInputError) as err:
        effective_sample_size(args.pop("n"), **args)
    assert err.value.field == field


# ---------------------------------------------------------------- combining arms


def test_combine_arms_hand_computed() -> None:
    # Cochrane Handbook table 6.5.a: N = 30, M = (10*5 + 20*8)/30 = 7,
    # SD = sqrt((9*4 + 19*9 + 10*20/30 * 9) / 29) = sqrt(267 / 29)
    n, mean, sd = combine_arms(10, 5.0, 2.0, 20, 8.0, 3.0)
    assert n[0] == 30
    assert mean[0] == pytest.approx(7.0, rel=1e-15)
    assert sd[0] == pytest.approx(math.sqrt(267 / 29), rel=1e-14)


@given(
    st.integers(2, 60),
    st.integers(2, 60),
    st.floats(-50, 50),
    st.floats(0.1, 20),
    st.integers(0, 2**32 - 1),
)
def test_combine_arms_equals_pooling_the_raw_data(
    n1: int, n2: int, shift: float, spread: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, n1)
    b = rng.normal(shift, spread, n2)
    n, mean, sd = combine_arms(n1, a.mean(), a.std(ddof=1), n2, b.mean(), b.std(ddof=1))
    pooled = np.concatenate([a, b])
    assert n[0] == n1 + n2
    assert mean[0] == pytest.approx(pooled.mean(), rel=1e-9, abs=1e-9)
    assert sd[0] == pytest.approx(pooled.std(ddof=1), rel=1e-9)


def test_combine_arms_rejects_an_arm_of_one() -> None:
    with pytest.raises(StatsInputError) as err:
        combine_arms(10, 5.0, 2.0, 1, 8.0, 3.0)
    assert err.value.field == "n2"


# ---------------------------------------------------------------- direction


def test_harmonize_direction_flips_only_lower_is_better() -> None:
    yi = [0.4, -0.2, 0.0]
    np.testing.assert_array_equal(harmonize_direction(yi, lower_is_better=False), yi)
    np.testing.assert_array_equal(harmonize_direction(yi, lower_is_better=True), [-0.4, 0.2, 0.0])
    mixed = harmonize_direction(yi, lower_is_better=[True, False, True])
    np.testing.assert_array_equal(mixed, [-0.4, -0.2, 0.0])
    assert not np.signbit(harmonize_direction(0.0, lower_is_better=True)[0])


def test_harmonize_direction_needs_boolean_flags() -> None:
    with pytest.raises(StatsInputError) as err:
        harmonize_direction([0.1, 0.2], lower_is_better=[1, 0])
    assert err.value.field == "lower_is_better"


@given(
    st.lists(st.tuples(st.floats(-10, 10), st.booleans()), min_size=1, max_size=20),
)
def test_harmonize_direction_is_an_involution(pairs: list[tuple[float, bool]]) -> None:
    yi = np.array([value for value, _ in pairs])
    flags = np.array([flag for _, flag in pairs])
    once = harmonize_direction(yi, lower_is_better=flags)
    np.testing.assert_array_equal(harmonize_direction(once, lower_is_better=flags), yi)
    np.testing.assert_array_equal(np.abs(once), np.abs(yi))


@given(st.floats(-8, 8), st.integers(2, 300), st.integers(2, 300))
def test_t_conversion_is_odd_in_t(t: float, n1: int, n2: int) -> None:
    assert smd_from_t(-t, n1, n2).yi[0] == -smd_from_t(t, n1, n2).yi[0]
