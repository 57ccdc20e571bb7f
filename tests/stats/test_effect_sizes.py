"""SMD and mean difference against metafor 3.8-1 (reference/README.md), invariants, edge cases.

Reference values come from ``escalc`` on the arm summaries stored in each reference file whose
``input.kind`` is ``"means"``; the R call sits beside each comparison.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.stats.effect_sizes import (
    EffectSizes,
    VarianceType,
    hedges_correction,
    mean_difference,
    smd_from_change_scores,
    smd_from_d,
    smd_from_means,
)
from service.stats.errors import StatsInputError
from tests.stats.conftest import DATASETS, assert_close, load_reference

MEANS_DATASETS = [name for name in DATASETS if load_reference(name)["input"]["kind"] == "means"]


def test_some_reference_dataset_has_arm_summaries() -> None:
    # Guards against the parametrized tests below silently running on nothing.
    assert MEANS_DATASETS == ["normand1999"]


def _arms(name: str) -> tuple[list[float], ...]:
    data = load_reference(name)["input"]
    return tuple(data[key] for key in ("n1", "m1", "sd1", "n2", "m2", "sd2"))


# ---------------------------------------------------------------- metafor reference values


@pytest.mark.parametrize("name", MEANS_DATASETS)
def test_smd_yi_matches_metafor(name: str) -> None:
    # escalc(measure="SMD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2)$yi
    ref = load_reference(name)
    res = smd_from_means(*_arms(name))
    assert_close(list(res.yi), ref["input"]["yi"], what="yi")
    assert_close(list(res.yi), ref["yi"], what="yi (analysed)")


@pytest.mark.parametrize(
    ("vtype", "key"),
    [
        # escalc(measure="SMD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2)$vi
        (VarianceType.LS, "vi_LS"),
        # escalc(measure="SMD", m1i=m1, ..., n2i=n2, vtype="UB")$vi
        (VarianceType.UB, "vi_UB"),
        # escalc(measure="SMD", m1i=m1, ..., n2i=n2, vtype="LS2")$vi
        (VarianceType.LS2, "vi_LS2"),
        # escalc(measure="SMD", m1i=m1, ..., n2i=n2, vtype="AV")$vi  (all studies in one call)
        (VarianceType.AV, "vi_AV"),
    ],
)
@pytest.mark.parametrize("name", MEANS_DATASETS)
def test_smd_variances_match_metafor(name: str, vtype: VarianceType, key: str) -> None:
    ref = load_reference(name)["input"]
    res = smd_from_means(*_arms(name), variance_type=vtype)
    assert_close(list(res.vi), ref[key], what=key)
    assert_close(list(res.yi), ref["yi"], what=f"yi with {vtype}")


@pytest.mark.parametrize("name", MEANS_DATASETS)
def test_ls_variance_is_the_one_analysed(name: str) -> None:
    # the top-level vi of the reference file is escalc's default, vtype="LS"
    ref = load_reference(name)
    assert_close(list(smd_from_means(*_arms(name)).vi), ref["vi"], what="vi")


@pytest.mark.parametrize("name", MEANS_DATASETS)
def test_mean_difference_matches_metafor(name: str) -> None:
    # escalc(measure="MD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2)
    ref = load_reference(name)["input"]
    res = mean_difference(*_arms(name))
    assert_close(list(res.yi), ref["md_yi"], what="md_yi")
    assert_close(list(res.vi), ref["md_vi"], what="md_vi")


def test_variance_type_accepts_its_string_value() -> None:
    args = (30, 1.0, 1.0, 30, 0.5, 1.2)
    by_enum = smd_from_means(*args, variance_type=VarianceType.UB)
    by_name = smd_from_means(*args, variance_type="UB")
    assert by_enum.vi[0] == by_name.vi[0]


# ---------------------------------------------------------------- Hedges' correction


def _j_by_gamma(m: float) -> float:
    # J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) (Hedges 1981, eq. 6b), directly
    return math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))


@pytest.mark.parametrize("m", [2, 3, 10, 38, 100, 150])
def test_hedges_correction_is_the_gamma_ratio(m: int) -> None:
    assert hedges_correction(m)[0] == pytest.approx(_j_by_gamma(m), rel=1e-13)


def test_hedges_correction_known_values() -> None:
    # J(2) = Gamma(1) / Gamma(1/2) = 1 / sqrt(pi); J(4) = Gamma(2) / (sqrt(2) Gamma(3/2))
    values = hedges_correction([2, 4])
    assert values[0] == pytest.approx(1 / math.sqrt(math.pi), rel=1e-14)
    assert values[1] == pytest.approx(2 / math.sqrt(2 * math.pi), rel=1e-14)


def test_hedges_correction_for_large_df_does_not_overflow() -> None:
    # math.gamma overflows past 171; the log-scale formula approaches 1 - 3 / (4m - 1). The
    # difference of two lgamma values near 6e6 keeps about 1e-10 of relative precision, as in R.
    m = 1e6
    assert hedges_correction(m)[0] == pytest.approx(1 - 3 / (4 * m - 1), rel=1e-9)


@pytest.mark.parametrize("df", [1, 0.5, -3, math.inf])
def test_hedges_correction_rejects_df_at_most_one(df: float) -> None:
    with pytest.raises(StatsInputError) as err:
        hedges_correction(df)
    assert err.value.field == "df"


# ---------------------------------------------------------------- hand-worked example


def test_hand_computed_example() -> None:
    # n = 20 and 22, means 5 and 4, SDs 2 and 2.5: s_p^2 = (19*4 + 21*6.25)/40 = 5.18125
    res = smd_from_means(20, 5.0, 2.0, 22, 4.0, 2.5)
    d = 1 / math.sqrt(5.18125)
    g = _j_by_gamma(40) * d
    assert res.yi[0] == pytest.approx(g, rel=1e-12)
    assert res.vi[0] == pytest.approx(1 / 20 + 1 / 22 + g**2 / 84, rel=1e-12)


def test_smd_from_d_applies_the_correction() -> None:
    # escalc(measure="SMD", di=0.5, n1i=10, n2i=12): yi = J(20) * 0.5
    res = smd_from_d(0.5, 10, 12)
    assert res.yi[0] == pytest.approx(_j_by_gamma(20) * 0.5, rel=1e-12)


def test_equal_means_give_zero_with_the_minimum_variance() -> None:
    res = smd_from_means(15, 3.0, 1.0, 25, 3.0, 2.0)
    assert res.yi[0] == 0.0
    assert res.vi[0] == pytest.approx(1 / 15 + 1 / 25, rel=1e-14)


def test_av_with_one_study_equals_ls() -> None:
    args = (12, 4.0, 1.5, 14, 3.1, 1.1)
    ls = smd_from_means(*args)
    av = smd_from_means(*args, variance_type=VarianceType.AV)
    assert av.vi[0] == pytest.approx(ls.vi[0], rel=1e-14)


def test_change_scores_are_smd_of_the_change_summaries() -> None:
    args = ([30, 40], [0.3, -0.2], [0.4, 0.5], [30, 41], [0.1, 0.0], [0.45, 0.5])
    for vtype in VarianceType:
        change = smd_from_change_scores(*args, variance_type=vtype)
        means = smd_from_means(*args, variance_type=vtype)
        np.testing.assert_array_equal(change.yi, means.yi)
        np.testing.assert_array_equal(change.vi, means.vi)


def test_mean_difference_hand_computed() -> None:
    res = mean_difference(10, 7.0, 2.0, 8, 5.5, 3.0)
    assert res.yi[0] == pytest.approx(1.5)
    assert res.vi[0] == pytest.approx(4 / 10 + 9 / 8, rel=1e-14)


def test_effective_sample_sizes_need_not_be_whole() -> None:
    res = smd_from_means(56.41, 2.95, 0.40, 57.44, 2.85, 0.42)
    assert np.isfinite(res.yi[0])
    assert res.vi[0] > smd_from_means(110, 2.95, 0.40, 112, 2.85, 0.42).vi[0]


# ---------------------------------------------------------------- shapes


def test_scalars_give_one_element_arrays() -> None:
    res = smd_from_means(20, 5, 2, 22, 4, 2.5)
    assert isinstance(res, EffectSizes)
    assert res.yi.shape == (1,)
    assert res.vi.shape == (1,)


def test_scalars_broadcast_against_arrays() -> None:
    res = smd_from_means(20, [5.0, 6.0, 7.0], 2.0, 20, 4.0, 2.0)
    assert res.yi.shape == (3,)
    assert res.yi[0] < res.yi[1] < res.yi[2]


# ---------------------------------------------------------------- validation


GOOD = {"n1": 20, "mean1": 5.0, "sd1": 2.0, "n2": 22, "mean2": 4.0, "sd2": 2.5}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n1", 1),
        ("n2", 1.5),
        ("n1", -4),
        ("sd1", 0.0),
        ("sd2", -1.0),
        ("mean1", math.nan),
        ("mean2", math.inf),
        ("sd1", math.nan),
        ("n2", "many"),
        ("mean1", [[1.0, 2.0]]),
        ("mean2", [1.0, 2.0, 3.0]),
    ],
)
@pytest.mark.parametrize("function", [smd_from_means, mean_difference])
def test_invalid_arm_summaries_name_the_field(function: Any, field: str, value: Any) -> None:
    args = {**GOOD, field: value}
    if field == "mean2" and isinstance(value, list):
        args["mean1"] = [1.0, 2.0]  # lengths 2 and 3 do not broadcast
    with pytest.raises(StatsInputError) as err:
        function(*args.values())
    assert err.value.field == field


def test_unknown_variance_type_is_rejected() -> None:
    with pytest.raises(StatsInputError) as err:
        smd_from_means(*GOOD.values(), variance_type="HO")
    assert err.value.field == "variance_type"


def test_change_score_errors_name_the_change_fields_by_position() -> None:
    with pytest.raises(StatsInputError) as err:
        smd_from_change_scores(20, 0.5, 0.0, 20, 0.1, 0.3)
    assert err.value.field == "sd1"


# ---------------------------------------------------------------- properties

sizes = st.integers(2, 500)
means = st.floats(-100, 100, allow_nan=False)
sds = st.floats(0.01, 50, allow_nan=False)
scales = st.floats(1e-3, 1e3, allow_nan=False)


@given(sizes, means, sds, sizes, means, sds, scales, st.sampled_from(list(VarianceType)))
def test_rescaling_units_leaves_g_unchanged(
    n1: int, m1: float, s1: float, n2: int, m2: float, s2: float, c: float, vtype: VarianceType
) -> None:
    base = smd_from_means(n1, m1, s1, n2, m2, s2, variance_type=vtype)
    scaled = smd_from_means(n1, c * m1, c * s1, n2, c * m2, c * s2, variance_type=vtype)
    assert scaled.yi[0] == pytest.approx(base.yi[0], rel=1e-9, abs=1e-12)
    assert scaled.vi[0] == pytest.approx(base.vi[0], rel=1e-9)


@given(sizes, means, sds, sizes, means, sds, st.sampled_from(list(VarianceType)))
def test_swapping_arms_flips_the_sign_and_keeps_the_variance(
    n1: int, m1: float, s1: float, n2: int, m2: float, s2: float, vtype: VarianceType
) -> None:
    forward = smd_from_means(n1, m1, s1, n2, m2, s2, variance_type=vtype)
    backward = smd_from_means(n2, m2, s2, n1, m1, s1, variance_type=vtype)
    assert backward.yi[0] == -forward.yi[0]
    assert backward.vi[0] == pytest.approx(forward.vi[0], rel=1e-12)
    md_forward = mean_difference(n1, m1, s1, n2, m2, s2)
    md_backward = mean_difference(n2, m2, s2, n1, m1, s1)
    assert md_backward.yi[0] == -md_forward.yi[0]


@given(sizes, means, sds, sizes, means, sds, means)
def test_shifting_both_means_leaves_g_unchanged(
    n1: int, m1: float, s1: float, n2: int, m2: float, s2: float, shift: float
) -> None:
    base = smd_from_means(n1, m1, s1, n2, m2, s2)
    shifted = smd_from_means(n1, m1 + shift, s1, n2, m2 + shift, s2)
    assert shifted.yi[0] == pytest.approx(base.yi[0], rel=1e-6, abs=1e-9)


@given(sizes, means, sds, sizes, means, sds)
def test_g_is_shrunk_towards_zero_and_variances_are_positive(
    n1: int, m1: float, s1: float, n2: int, m2: float, s2: float
) -> None:
    g = smd_from_means(n1, m1, s1, n2, m2, s2).yi[0]
    j = smd_from_d(1.0, n1, n2).yi[0]  # J(m) itself
    pooled_sd = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    assert 0 < j < 1
    assert g == pytest.approx(j * (m1 - m2) / pooled_sd, rel=1e-9, abs=1e-12)
    for vtype in VarianceType:
        assert smd_from_means(n1, m1, s1, n2, m2, s2, variance_type=vtype).vi[0] > 0
