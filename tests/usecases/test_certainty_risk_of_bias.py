"""The risk-of-bias domain's inputs: RoB 2 judgements first, the quality rating as fallback."""

from __future__ import annotations

import pytest

from service.stats.certainty import Interval
from service.stats.models import fit_random_effects
from service.usecases.judgement.certainty import (
    CertaintyBasis,
    low_risk_flags,
    low_risk_sensitivity,
    rule_ratings,
)

EFFECTS = [(0.2, 0.04), (0.5, 0.05), (0.35, 0.03), (0.1, 0.06)]


def _basis(risks: list[str | None], qualities: list[str]) -> CertaintyBasis:
    return CertaintyBasis(
        k=4, participants=800, evidence_version=1, ci=Interval(0.25, 0.45), pi=None, i2=0.0,
        egger_p=None, weights=[25.0] * 4, qualities=qualities,
        study_intervals=[Interval(-1.0, 1.0)] * 4, risks_of_bias=risks, effects=EFFECTS,
    )  # fmt: skip


def test_rob2_decides_and_the_quality_rating_stands_in() -> None:
    basis = _basis(["low", "high", None, None], ["weak", "strong", "strong", "weak"])
    assert low_risk_flags(basis, {"strong"}) == [True, False, True, False]
    assert low_risk_flags(basis, {"strong"}, quality_fallback=False) == [True, False, False, False]
    rating = rule_ratings(basis, 0.2, {"strong"})["risk_of_bias"]
    assert (rating.downgrade, rating.inputs["assessed_with_rob"]) == (1, 2)  # 50% low risk
    strict = rule_ratings(basis, 0.2, {"strong"}, quality_fallback=False)["risk_of_bias"]
    assert strict.downgrade == 2  # 25%


def test_the_sensitivity_answer_pools_the_low_risk_studies_only() -> None:
    basis = _basis(["low", "high", "low", "some_concerns"], ["weak"] * 4)
    sensitivity = low_risk_sensitivity(basis, low_risk_flags(basis, set()))
    fit = fit_random_effects([0.2, 0.35], [0.04, 0.03])
    assert sensitivity.k == 2
    assert sensitivity.estimate == pytest.approx(fit.estimate)
    assert sensitivity.ci == Interval(fit.ci_lower, fit.ci_upper)
    none = _basis(["high"] * 4, ["weak"] * 4)
    assert low_risk_sensitivity(none, low_risk_flags(none, set())).k == 0
