"""GRADE certainty of one pooled answer: the rules of :mod:`service.stats.certainty` on its numbers.

A curator's judgement of a domain replaces the rule's downgrade for that domain; the answer
lists it under ``reviewed`` with what the rule alone would have given, and flags it
``outdated`` when it was made at an older evidence version than the answer's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from service.schemas.certainty import DOMAIN_NAMES, CertaintyRead, DomainRead, ReviewedRead
from service.schemas.pooled import PooledRead
from service.stats import certainty as rules
from service.stats.certainty import DomainRating, Interval


@dataclass(frozen=True, slots=True)
class Judgement:
    """A curator's downgrade of one domain, as stored (see :mod:`.judgements`)."""

    domain: str
    downgrade: int
    reason: str
    actor: str
    version: int


@dataclass(frozen=True, slots=True)
class CertaintyBasis:
    """What the rules read of a pooled result that has a confidence interval.

    Built from a full answer (:func:`basis_of`) or, for the summary table, from a bare fit
    (:mod:`.cells`); the same numbers give the same certainty either way.
    """

    k: int
    participants: int
    evidence_version: int
    ci: Interval
    pi: Interval | None
    i2: float | None
    egger_p: float | None  # None below ten studies, where Egger's test is not run
    weights: Sequence[float]  # each study's random-effects weight (%)
    qualities: Sequence[str]
    study_intervals: Sequence[Interval]


def interval_or_none(lower: float | None, upper: float | None) -> Interval | None:
    """The interval, when both ends are defined."""
    return Interval(lower, upper) if lower is not None and upper is not None else None


def basis_of(answer: PooledRead) -> CertaintyBasis:
    """The basis of a pooled answer (``answer.result`` has a confidence interval)."""
    result = answer.result
    assert result is not None
    ci = interval_or_none(result.ci_lower, result.ci_upper)
    assert ci is not None
    return CertaintyBasis(
        k=result.k,
        participants=answer.participants,
        evidence_version=answer.evidence_version,
        ci=ci,
        pi=interval_or_none(result.pi_lower, result.pi_upper),
        i2=result.i2,
        egger_p=result.egger.p_value if result.egger else None,
        weights=[s.weight or 0.0 for s in answer.studies],
        qualities=[s.quality for s in answer.studies],
        study_intervals=[Interval(s.ci_lower, s.ci_upper) for s in answer.studies],
    )


def rule_ratings(
    basis: CertaintyBasis, mid: float, low_risk_qualities: Collection[str]
) -> dict[str, DomainRating]:
    """Every domain's rating by rule."""
    ci, pi = basis.ci, basis.pi
    return {
        "risk_of_bias": rules.risk_of_bias(
            basis.weights, [quality in low_risk_qualities for quality in basis.qualities]
        ),
        "inconsistency": rules.inconsistency(
            ci, pi, mid, i2=basis.i2, study_intervals=basis.study_intervals
        ),
        "indirectness": rules.indirectness(),
        "imprecision": rules.imprecision(ci, mid, participants=basis.participants),
        "publication_bias": rules.publication_bias(basis.k, basis.egger_p),
    }


def _domain(rating: DomainRating, judgement: Judgement | None) -> DomainRead:
    if judgement is None:
        return DomainRead(
            downgrade=rating.downgrade, judgement=rating.judgement, rule=rating.rule,
            rationale=rating.rationale, inputs=rating.inputs, judged_by=None,
        )  # fmt: skip
    return DomainRead(
        downgrade=judgement.downgrade,
        judgement=rules.judgement_of(judgement.downgrade),
        rule=rating.rule,
        rationale=f"judged by {judgement.actor}: {judgement.reason} (the rule: {rating.rationale})",
        inputs=rating.inputs,
        judged_by=judgement.actor,
    )


def assess_certainty(
    basis: CertaintyBasis,
    *,
    mid: float,
    low_risk_qualities: Collection[str],
    judgements: Sequence[Judgement] = (),
) -> CertaintyRead:
    """The certainty of a pooled result: high minus every domain's downgrade."""
    ratings = rule_ratings(basis, mid, low_risk_qualities)
    judged = {j.domain: j for j in judgements}
    domains = {name: _domain(ratings[name], judged.get(name)) for name in DOMAIN_NAMES}
    reviewed = [
        ReviewedRead(
            domain=name,
            downgrade=judged[name].downgrade,
            reason=judged[name].reason,
            actor=judged[name].actor,
            judged_at_version=judged[name].version,
            outdated=judged[name].version < basis.evidence_version,
            rule_downgrade=ratings[name].downgrade,
        )
        for name in DOMAIN_NAMES
        if name in judged
    ]
    return CertaintyRead(
        level=rules.certainty_level([d.downgrade for d in domains.values()]),
        start="high",
        mid=mid,
        domains=domains,
        reviewed=reviewed,
    )
