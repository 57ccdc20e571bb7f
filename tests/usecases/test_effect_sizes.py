"""The mapping from reported forms to the engine: which conversion, which direction, which ns.

These tests compare with direct engine calls, not with formulas of their own: the engine's
numbers are tested against metafor in tests/stats. What is tested here is the wiring.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from service.schemas.reported import ReportedData
from service.schemas.studies import ClusterDesign
from service.stats import ENGINE_VERSION
from service.stats.conversions import (
    smd_from_ci,
    smd_from_f,
    smd_from_p,
    smd_from_se,
    smd_from_t,
)
from service.stats.effect_sizes import smd_from_change_scores, smd_from_means
from service.stats.errors import StatsInputError
from service.usecases.studies.effect_sizes import EffectRequest, derive_effect, derive_effects

REPORTED: TypeAdapter[ReportedData] = TypeAdapter(ReportedData)
NS = {"n_intervention": 34, "n_control": 31}


def _data(**fields: Any) -> ReportedData:
    return REPORTED.validate_python(fields)


def _means(m1: float, s1: float, n1: int, m2: float, s2: float, n2: int) -> ReportedData:
    return _data(
        form="means",
        intervention={"mean": m1, "sd": s1, "n": n1},
        control={"mean": m2, "sd": s2, "n": n2},
    )


def _first(values: Any) -> float:
    return float(values[0])


CASES: list[tuple[ReportedData, Any, str]] = [
    (
        _means(2.9, 0.4, 34, 2.7, 0.5, 31),
        smd_from_means(34, 2.9, 0.4, 31, 2.7, 0.5),
        "smd_from_means",
    ),
    (
        _data(
            form="change_scores",
            intervention={"mean_change": 0.4, "sd_change": 0.6, "n": 34},
            control={"mean_change": 0.1, "sd_change": 0.5, "n": 31},
        ),
        smd_from_change_scores(34, 0.4, 0.6, 31, 0.1, 0.5),
        "smd_from_change_scores",
    ),
    (_data(form="t", t=2.3, **NS), smd_from_t(2.3, 34, 31), "smd_from_t"),
    (
        _data(form="f", f=5.3, df=63, favours="intervention", **NS),
        smd_from_f(5.3, 34, 31, favours_intervention=True),
        "smd_from_f",
    ),
    (
        _data(form="p", p=0.02, favours="control", **NS),
        smd_from_p(0.02, 34, 31, favours_intervention=False),
        "smd_from_p",
    ),
    (
        _data(form="effect_se", effect=0.41, se=0.2, positive_favours_intervention=True),
        smd_from_se(0.41, 0.2),
        "smd_from_se",
    ),
    (
        _data(
            form="effect_ci",
            effect=0.41,
            ci_lower=0.02,
            ci_upper=0.8,
            ci_level=0.9,
            positive_favours_intervention=True,
        ),
        smd_from_ci(0.41, 0.02, 0.8, level=0.9),
        "smd_from_ci",
    ),
]


@pytest.mark.parametrize(("data", "expected", "conversion"), CASES, ids=lambda v: str(v)[:12])
def test_each_form_goes_through_its_engine_conversion(
    data: ReportedData, expected: Any, conversion: str
) -> None:
    effect = derive_effect(data, higher_is_better=True)
    assert effect.yi == _first(expected.yi)
    assert effect.vi == _first(expected.vi)
    assert (effect.conversion, effect.sign_flipped) == (conversion, False)
    assert effect.engine_version == ENGINE_VERSION


@pytest.mark.parametrize(("data", "expected", "conversion"), CASES, ids=lambda v: str(v)[:12])
def test_signed_forms_flip_for_lower_is_better_scales_and_others_do_not(
    data: ReportedData, expected: Any, conversion: str
) -> None:
    higher = derive_effect(data, higher_is_better=True)
    lower = derive_effect(data, higher_is_better=False)
    # F and p state the arm they favour; effects given as "positive favours intervention" too.
    oriented = conversion in {"smd_from_f", "smd_from_p", "smd_from_se", "smd_from_ci"}
    assert lower.yi == (higher.yi if oriented else -higher.yi)
    assert lower.vi == higher.vi
    assert lower.sign_flipped is (not oriented)


@pytest.mark.parametrize("form", ["effect_se", "effect_ci"])
def test_effects_in_the_instruments_direction_are_flipped_when_lower_is_better(form: str) -> None:
    extra = {"se": 0.2} if form == "effect_se" else {"ci_lower": -0.8, "ci_upper": -0.02}
    data = _data(form=form, effect=-0.41, positive_favours_intervention=False, **extra)
    effect = derive_effect(data, higher_is_better=False)
    assert (effect.yi, effect.sign_flipped) == (0.41, True)
    assert derive_effect(data, higher_is_better=True).yi == -0.41


def test_cluster_trials_keep_the_effect_and_inflate_the_variance() -> None:
    cluster = ClusterDesign(icc=0.04, mean_cluster_size=15)
    effect = derive_effect(
        _means(2.9, 0.4, 90, 2.7, 0.5, 88), higher_is_better=True, cluster=cluster
    )
    expected = smd_from_means(90, 2.9, 0.4, 88, 2.7, 0.5)
    assert effect.yi == _first(expected.yi)
    assert effect.vi == pytest.approx(_first(expected.vi) * (1 + 14 * 0.04), rel=1e-15)


def test_a_large_design_effect_no_longer_shrinks_the_ns_below_two() -> None:
    # Design effect 45.1: dividing 20 by it (the old approach) left n < 2 and no effect at all.
    cluster = ClusterDesign(icc=0.9, mean_cluster_size=50)
    plain = derive_effect(_means(2.9, 0.4, 20, 2.7, 0.5, 20), higher_is_better=True)
    effect = derive_effect(
        _means(2.9, 0.4, 20, 2.7, 0.5, 20), higher_is_better=True, cluster=cluster
    )
    assert effect.yi == plain.yi
    assert effect.vi == pytest.approx(plain.vi * 45.1, rel=1e-12)


# Within the plausibility bounds of a stored effect (|g| <= 20; tested below).
finite = st.floats(min_value=-8, max_value=8, allow_nan=False)
spread = st.floats(min_value=1.0, max_value=20)
size = st.integers(min_value=2, max_value=500)


@given(finite, spread, size, finite, spread, size)
def test_flipping_the_scale_flips_the_effect_exactly(
    m1: float, s1: float, n1: int, m2: float, s2: float, n2: int
) -> None:
    data = _means(m1, s1, n1, m2, s2, n2)
    up, down = (derive_effect(data, higher_is_better=h) for h in (True, False))
    assert down.yi == -up.yi
    assert down.vi == up.vi


@given(finite, spread, size, finite, spread, size)
def test_swapping_the_arms_of_a_lower_is_better_scale_mirrors_the_effect(
    m1: float, s1: float, n1: int, m2: float, s2: float, n2: int
) -> None:
    forward = derive_effect(_means(m1, s1, n1, m2, s2, n2), higher_is_better=False)
    swapped = derive_effect(_means(m2, s2, n2, m1, s1, n1), higher_is_better=False)
    assert swapped.yi == pytest.approx(-forward.yi, rel=1e-12, abs=1e-12)
    assert swapped.vi == pytest.approx(forward.vi, rel=1e-12)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (_means(30.0, 0.01, 40, 2.0, 0.01, 40), "|g| far beyond 20: an SE typed as an SD"),
        (
            {"form": "effect_se", "effect": 0.3, "se": 1e-5, "positive_favours_intervention": True},
            "variance 1e-10: below any trial's",
        ),
        (
            {
                "form": "effect_se",
                "effect": 0.3,
                "se": 500.0,
                "positive_favours_intervention": True,
            },
            "variance 250,000: no information",
        ),
    ],
)
def test_implausible_effects_are_refused(data: Any, why: str) -> None:
    reported = (
        data if not isinstance(data, dict) else TypeAdapter(ReportedData).validate_python(data)
    )
    with pytest.raises(StatsInputError, match="plausible range"):
        derive_effect(reported, higher_is_better=True)


def _one_by_one(request: EffectRequest) -> object:
    try:
        return derive_effect(
            request.data, higher_is_better=request.higher_is_better, cluster=request.cluster
        )
    except StatsInputError as exc:
        return f"error: {exc}"


# Means with and without a cluster design, other forms, and effects refused as implausible
# (means 1e300 apart overflow; SDs of 1e-3 give |g| far beyond 20).
wide = st.one_of(finite, st.floats(min_value=-1e300, max_value=1e300, allow_nan=False))
tiny_or_wide = st.one_of(spread, st.floats(min_value=1e-3, max_value=1e3))
means_data = st.builds(_means, wide, tiny_or_wide, size, wide, tiny_or_wide, size)
t_data = st.builds(
    lambda t, n1, n2: _data(form="t", t=t, n_intervention=n1, n_control=n2),
    st.one_of(finite, wide),
    size,
    size,
)
change_data = st.builds(
    lambda m1, s1, n1, m2, s2, n2: _data(
        form="change_scores",
        intervention={"mean_change": m1, "sd_change": s1, "n": n1},
        control={"mean_change": m2, "sd_change": s2, "n": n2},
    ),
    wide,
    tiny_or_wide,
    size,
    wide,
    tiny_or_wide,
    size,
)
clusters = st.one_of(
    st.none(),
    st.builds(
        ClusterDesign,
        icc=st.sampled_from([0.0, 0.05, 0.3]),
        mean_cluster_size=st.sampled_from([1.0, 8.0, 25.5]),
        reported_accounts_for_clustering=st.booleans(),
    ),
)
requests = st.lists(
    st.builds(EffectRequest, st.one_of(means_data, t_data, change_data), st.booleans(), clusters),
    max_size=12,
)


@given(requests)
def test_deriving_many_together_gives_exactly_what_one_by_one_gives(
    batch: list[EffectRequest],
) -> None:
    together = [
        f"error: {effect}" if isinstance(effect, StatsInputError) else effect
        for effect in derive_effects(batch)
    ]
    assert together == [_one_by_one(request) for request in batch]
