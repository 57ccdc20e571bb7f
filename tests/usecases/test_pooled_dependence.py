"""A pooled result's ``dependence`` answer: every effect nested in its study (issue 29).

The numbers are metafor's and clubSandwich's for dat.assink2016 (reference/multilevel.R);
each of its 17 studies becomes one StudyEffect whose ``parts`` are its effects.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.stats.aggregate import combine_correlated
from service.usecases.pooled.analysis import analyse_outcome
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import Dependence, PooledSpec
from tests.stats.conftest import load_reference


def _case(rho: float | None) -> dict[str, Any]:
    for case in load_reference("multilevel")["cases"]:
        case_rho = case["rho"] if isinstance(case["rho"], float) else None
        if case["name"] == "assink2016" and case["method"] == "REML" and case_rho == rho:
            return case
    raise LookupError(rho)


def _effects(case: dict[str, Any]) -> list[StudyEffect]:
    by_study: dict[str, list[tuple[float, float]]] = {}
    for y, v, c in zip(case["yi"], case["vi"], case["cluster"], strict=True):
        by_study.setdefault(c, []).append((y, v))
    effects = []
    for number, (study, parts) in enumerate(by_study.items(), start=1):
        combined = combine_correlated([p[0] for p in parts], [p[1] for p in parts])
        fixed = ("randomized", True, "usual-care", "moderate", 12.0, "post", ("bes",), 100)
        effects.append(
            StudyEffect(
                number, f"Study {study} (#{number})", 2000 + number, "peer-groups", *fixed,
                combined.yi, combined.vi, parts=tuple(parts),
            )
        )  # fmt: skip
    return effects


def test_che_answer_beside_the_study_level_result() -> None:
    case = _case(0.6)
    spec = PooledSpec(outcome="empowerment", dependence=Dependence.CHE)
    answer = analyse_outcome(_effects(case), spec, version=1)
    assert answer.k == 17  # the seed rule and the headline count studies
    assert answer.dependence is not None
    assert (answer.dependence.k_effects, answer.dependence.k_studies) == (100, 17)
    assert answer.dependence.estimate == pytest.approx(case["estimate"], rel=1e-6)
    assert answer.dependence.robust is not None
    assert answer.dependence.robust.se == pytest.approx(case["cr2_se"], rel=1e-6)
    assert answer.dependence.robust.df == pytest.approx(case["cr2_df"], rel=1e-6)
    assert answer.spec.dependence == "che"


def test_three_level_answer_and_average_default() -> None:
    case = _case(None)
    effects = _effects(case)
    three = analyse_outcome(
        effects, PooledSpec(outcome="empowerment", dependence=Dependence.THREE_LEVEL), version=1
    )
    assert three.dependence is not None
    assert three.dependence.estimate == pytest.approx(case["estimate"], rel=1e-6)
    assert three.dependence.sigma2_within == pytest.approx(case["sigma2"][1], rel=1e-6)
    average = analyse_outcome(effects, PooledSpec(outcome="empowerment"), version=1)
    assert average.dependence is None
    assert average.result is not None
    assert three.result is not None
    assert average.result.estimate == three.result.estimate  # the headline is the same fit


def test_canonical_strings_of_existing_specifications_are_unchanged() -> None:
    default = PooledSpec(outcome="empowerment")
    assert "dependence" not in default.canonical()
    assert (
        "dependence=che" in PooledSpec(outcome="empowerment", dependence=Dependence.CHE).canonical()
    )


def test_bayes_options_enter_the_canonical_string_only_when_asked_for() -> None:
    from service.usecases.pooled.spec import BayesOptions, TauPriorName

    assert "bayes" not in PooledSpec(outcome="empowerment").canonical()
    asked = PooledSpec(outcome="empowerment", bayes=BayesOptions())
    assert "bayes=half_normal:0.5;flat&" in asked.canonical()
    cochrane = BayesOptions(TauPriorName.COCHRANE_SMD, tau_scale=0.9, effect_sd=1.0)
    assert str(cochrane) == "cochrane_smd;normal:1"  # the scale does not apply: not in the key
