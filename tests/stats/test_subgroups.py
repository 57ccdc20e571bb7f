"""analyse_subgroups against metafor 3.8-1 (reference/README.md), rows without a group left out.

rma(yi, vi, subset = groups == g, method = "REML")          # subgroups, for each level g
Q_between of those estimates with weights 1/se^2 on L-1 df  # subgroup_difference (RevMan, meta)
rma(yi, vi, mods = ~ factor(groups), method = "REML")       # moderator_factor
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from service.stats.errors import StatsInputError
from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.subgroups import analyse_subgroups
from tests.stats.conftest import assert_close, load_reference


@pytest.fixture(params=["raudenbush1985", "bangertdrowns2004"])
def grouped(request: pytest.FixtureRequest) -> tuple[dict[str, Any], np.ndarray, np.ndarray, list]:
    reference = load_reference(request.param)
    column = reference["moderator_factor"]["groups"]
    keep = [i for i, g in enumerate(column) if g is not None]
    yi = np.asarray(reference["yi"])[keep]
    vi = np.asarray(reference["vi"])[keep]
    return reference, yi, vi, [column[i] for i in keep]


def test_separate_fits_match_metafor(grouped: tuple[dict[str, Any], Any, Any, list]) -> None:
    reference, yi, vi, groups = grouped
    analysis = analyse_subgroups(yi, vi, groups)
    assert list(analysis.levels) == sorted(reference["subgroups"])
    for name, expected in reference["subgroups"].items():
        # rma(yi, vi, subset = groups == name, method = "REML")
        level = analysis.levels[name]
        assert level.name == name
        assert level.k == expected["k"]
        assert_close(level.estimate, expected["estimate"], what=f"{name} estimate")
        assert_close(level.se, expected["se"], what=f"{name} se")
        assert_close(level.tau2, expected["tau2"], what=f"{name} tau2")
        assert_close(level.i2, expected["I2"], what=f"{name} I2")


def test_difference_test_matches_metafor(grouped: tuple[dict[str, Any], Any, Any, list]) -> None:
    reference, yi, vi, groups = grouped
    analysis = analyse_subgroups(yi, vi, groups)
    expected = reference["subgroup_difference"]
    assert_close(analysis.q_between, expected["Q_between"], what="Q_between")
    assert analysis.df == expected["df"]
    assert_close(analysis.p_value, expected["pval"], what="pval")


def test_moderator_model_matches_metafor(grouped: tuple[dict[str, Any], Any, Any, list]) -> None:
    # rma(yi, vi, mods = ~ factor(groups), method = "REML")
    reference, yi, vi, groups = grouped
    model = analyse_subgroups(yi, vi, groups).moderator_model
    expected = reference["moderator_factor"]
    assert_close(list(model.coefficients), expected["coef"], what="coef")
    assert_close(model.qm, expected["QM"], what="QM")
    assert_close(model.tau2, expected["tau2"], what="tau2")


def test_single_study_level_contributes_its_own_effect() -> None:
    yi = [0.1, 0.3, 0.2, 0.9]
    vi = [0.01, 0.02, 0.015, 0.04]
    analysis = analyse_subgroups(yi, vi, ["a", "a", "a", "b"], ci_method=CiMethod.HKSJ)
    single = analysis.levels["b"]
    assert (single.k, single.estimate, single.se, single.tau2, single.i2) == (
        1,
        0.9,
        0.2,
        0.0,
        None,
    )
    assert analysis.df == 1
    assert np.isfinite(analysis.q_between)


def test_estimator_is_used_throughout() -> None:
    yi = [0.1, 0.5, 0.2, 0.9, 0.4, -0.1]
    vi = [0.01, 0.02, 0.015, 0.04, 0.02, 0.03]
    analysis = analyse_subgroups(yi, vi, list("aabbab"), estimator=Tau2Estimator.DL)
    assert analysis.moderator_model.estimator is Tau2Estimator.DL
    assert all(level.fit.estimator is Tau2Estimator.DL for level in analysis.levels.values())


@pytest.mark.parametrize(
    "groups", [["a", "a", "a"], ["a", "b"], ["a", "b", "c"]], ids=["one", "length", "k<=L"]
)
def test_invalid_groups(groups: list[str]) -> None:
    with pytest.raises(StatsInputError) as info:
        analyse_subgroups([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], groups)
    assert info.value.field == "groups"
