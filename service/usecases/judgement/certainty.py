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
from service.stats import risk_of_bias as rob
from service.stats.certainty import DomainRating, Interval, LowRiskSensitivity
from service.stats.models import fit_random_effects


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
    # Each study's overall RoB 2 (or RoB 1) judgement; None: not assessed (the quality rating
    # decides, see :func:`low_risk_flags`). Empty: no study assessed.
    risks_of_bias: Sequence[str | None] = ()
    egger: str = "regtest"  # which Egger test egger_p is (rules.EGGER_VARIANTS)
    pi_distribution: str | None = None  # the prediction interval's reference distribution
    effects: Sequence[tuple[float, float]] = ()  # (yi, vi), for the low-risk sensitivity answer


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
        egger_p=_egger_p(answer),
        egger=answer.spec.egger,
        pi_distribution=pi_distribution(answer.spec.ci_method, result.k),
        weights=[s.weight or 0.0 for s in answer.studies],
        qualities=[s.quality for s in answer.studies],
        study_intervals=[Interval(s.ci_lower, s.ci_upper) for s in answer.studies],
        risks_of_bias=[s.risk_of_bias for s in answer.studies],
        effects=[(s.yi, s.vi) for s in answer.studies],
    )


def _egger_p(answer: PooledRead) -> float | None:
    result = answer.result
    assert result is not None
    test = result.egger_classic if answer.spec.egger == "classic" else result.egger
    return test.p_value if test else None


def pi_distribution(ci_method: str, k: int) -> str:
    """The prediction interval's reference distribution, as metafor 3.8's predict.rma."""
    if ci_method == "z":
        return "normal quantiles, as metafor's predict.rma with test = 'z'"
    return (
        f"t with k - 1 = {k - 1} df, as metafor's predict.rma with the model's df (the Cochrane "
        "Handbook 10.10.4.3 uses k - 2)"
    )


def low_risk_flags(
    basis: CertaintyBasis, low_risk_qualities: Collection[str], *, quality_fallback: bool = True
) -> list[bool]:
    """Whether each study is at low risk of bias.

    Its overall RoB 2 (RoB 1) judgement decides; a study without one is at low risk when its
    quality rating is one of ``low_risk_qualities`` (EPHPP strong, by default), or never when
    ``quality_fallback`` is off.
    """
    risks = list(basis.risks_of_bias) or [None] * len(basis.qualities)
    return [
        rob.is_low(risk) if risk is not None else quality_fallback and quality in low_risk_qualities
        for risk, quality in zip(risks, basis.qualities, strict=True)
    ]


def low_risk_sensitivity(basis: CertaintyBasis, low_risk: Sequence[bool]) -> LowRiskSensitivity:
    """The random-effects answer (REML, z, 95%) of the studies at low risk of bias only."""
    chosen = [e for e, low in zip(basis.effects, low_risk, strict=True) if low]
    if not chosen:
        return LowRiskSensitivity(k=0)
    fit = fit_random_effects([y for y, _ in chosen], [v for _, v in chosen])
    return LowRiskSensitivity(len(chosen), fit.estimate, Interval(fit.ci_lower, fit.ci_upper))


def _risk_of_bias(
    basis: CertaintyBasis, low_risk_qualities: Collection[str], quality_fallback: bool
) -> DomainRating:
    low_risk = low_risk_flags(basis, low_risk_qualities, quality_fallback=quality_fallback)
    assessed = sum(r is not None for r in basis.risks_of_bias)
    sensitivity = low_risk_sensitivity(basis, low_risk) if basis.effects else None
    return rules.risk_of_bias(
        basis.weights, low_risk, assessed=assessed or None, sensitivity=sensitivity
    )


def rule_ratings(
    basis: CertaintyBasis,
    mid: float,
    low_risk_qualities: Collection[str],
    *,
    quality_fallback: bool = True,
    alpha: float = rules.OIS_ALPHA,
    power: float = rules.OIS_POWER,
) -> dict[str, DomainRating]:
    """Every domain's rating by rule."""
    ci, pi = basis.ci, basis.pi
    return {
        "risk_of_bias": _risk_of_bias(basis, low_risk_qualities, quality_fallback),
        "inconsistency": rules.inconsistency(
            ci,
            pi,
            mid,
            i2=basis.i2,
            study_intervals=basis.study_intervals,
            pi_distribution=basis.pi_distribution,
        ),
        "indirectness": rules.indirectness(),
        "imprecision": rules.imprecision(
            ci, mid, participants=basis.participants, alpha=alpha, power=power
        ),
        "publication_bias": rules.publication_bias(basis.k, basis.egger_p, egger=basis.egger),
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
    quality_fallback: bool = True,
    alpha: float = rules.OIS_ALPHA,
    power: float = rules.OIS_POWER,
    judgements: Sequence[Judgement] = (),
) -> CertaintyRead:
    """The certainty of a pooled result: high minus every domain's downgrade."""
    ratings = rule_ratings(
        basis, mid, low_risk_qualities, quality_fallback=quality_fallback, alpha=alpha,
        power=power,
    )  # fmt: skip
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
