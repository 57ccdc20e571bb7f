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
class CertaintyInputs:
    """The numbers the rules read: a pooled answer's, or a history point's (no answer built).

    ``weights`` are the random-effects weights (percent), ``low_risk`` whether each study's
    quality counts as low risk of bias, ``study_intervals`` each study's CI, in one order.
    """

    ci: Interval
    pi: Interval | None
    i2: float | None
    k: int
    participants: int
    egger_p: float | None
    weights: Sequence[float]
    low_risk: Sequence[bool]
    study_intervals: Sequence[Interval]

    @classmethod
    def of_answer(cls, answer: PooledRead, low_risk_qualities: Collection[str]) -> CertaintyInputs:
        """The inputs of a pooled answer (``answer.result`` with a CI is set)."""
        result = answer.result
        assert result is not None
        assert result.ci_lower is not None
        assert result.ci_upper is not None
        pi = None
        if result.pi_lower is not None and result.pi_upper is not None:
            pi = Interval(result.pi_lower, result.pi_upper)
        return cls(
            ci=Interval(result.ci_lower, result.ci_upper),
            pi=pi,
            i2=result.i2,
            k=result.k,
            participants=answer.participants,
            egger_p=result.egger.p_value if result.egger else None,
            weights=[s.weight or 0.0 for s in answer.studies],
            low_risk=[s.quality in low_risk_qualities for s in answer.studies],
            study_intervals=[Interval(s.ci_lower, s.ci_upper) for s in answer.studies],
        )


def rule_ratings(inputs: CertaintyInputs, mid: float) -> dict[str, DomainRating]:
    """Every domain's rating by rule."""
    return {
        "risk_of_bias": rules.risk_of_bias(inputs.weights, inputs.low_risk),
        "inconsistency": rules.inconsistency(
            inputs.ci, inputs.pi, mid, i2=inputs.i2, study_intervals=inputs.study_intervals
        ),
        "indirectness": rules.indirectness(),
        "imprecision": rules.imprecision(inputs.ci, mid, participants=inputs.participants),
        "publication_bias": rules.publication_bias(inputs.k, inputs.egger_p),
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
    answer: PooledRead,
    *,
    mid: float,
    low_risk_qualities: Collection[str],
    judgements: Sequence[Judgement] = (),
) -> CertaintyRead:
    """The certainty of a pooled answer: high minus every domain's downgrade."""
    inputs = CertaintyInputs.of_answer(answer, low_risk_qualities)
    return assess_inputs(inputs, version=answer.evidence_version, mid=mid, judgements=judgements)


def assess_inputs(
    inputs: CertaintyInputs, *, version: int, mid: float, judgements: Sequence[Judgement] = ()
) -> CertaintyRead:
    """The certainty of the evidence at ``version`` with these numbers."""
    ratings = rule_ratings(inputs, mid)
    judged = {j.domain: j for j in judgements}
    domains = {name: _domain(ratings[name], judged.get(name)) for name in DOMAIN_NAMES}
    reviewed = [
        ReviewedRead(
            domain=name,
            downgrade=judged[name].downgrade,
            reason=judged[name].reason,
            actor=judged[name].actor,
            judged_at_version=judged[name].version,
            outdated=judged[name].version < version,
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
