"""Certainty and statement on a pooled answer: the one call the pooled use cases make.

:func:`with_assessment` reads what the rules need beyond the answer itself (the outcome's MID,
name and direction of benefit; curators' judgements valid at the answer's version; the quality
ratings that count as low risk of bias) and returns the answer with ``certainty`` and
``statement``. Judgements are writes that take an evidence version, so an answer cached by
(specification, version) stays right.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from service.db.models import CertaintyJudgement
from service.db.repositories.judgement import JudgementRepository, OutcomeTerms
from service.schemas.certainty import CertaintyRead, StatementRead
from service.schemas.pooled import NarrativeRead, PooledRead
from service.settings import get_settings
from service.usecases.judgement.certainty import (
    CertaintyBasis,
    Judgement,
    assess_certainty,
    basis_of,
)
from service.usecases.judgement.statements import (
    DirectionCounts,
    OutcomeWords,
    PooledNumbers,
    narrative_statement,
    pooled_statement,
)
from service.usecases.pooled.bayes import bayes_answer
from service.usecases.pooled.spec import PooledSpec


def outcome_words(terms: OutcomeTerms) -> OutcomeWords:
    """How statements name the outcome ("internalized stigma") and which way is better."""
    return OutcomeWords(name=terms.name.lower(), benefit_is_increase=not terms.lower_is_better)


def judgements_at(
    session: Session, outcome: str, category: str | None, version: int
) -> list[Judgement]:
    """Curators' judgements of one cell, as valid at ``version``."""
    return judgements_of(JudgementRepository(session).valid_at(outcome, category, version))


def judgements_of(rows: Sequence[CertaintyJudgement]) -> list[Judgement]:
    """The rules' view of stored judgements."""
    return [Judgement(r.domain, r.downgrade, r.reason, r.actor, r.valid_from) for r in rows]


def certainty_of(
    session: Session, answer: PooledRead, spec: PooledSpec, terms: OutcomeTerms
) -> CertaintyRead | None:
    """GRADE certainty of a pooled answer with a confidence interval; ``None`` otherwise."""
    result = answer.result
    if answer.status != "pooled" or result is None or result.ci_lower is None:
        return None
    judgements = judgements_at(session, spec.outcome, spec.category, answer.evidence_version)
    return assess(basis_of(answer), spec, terms, judgements)


def assess(
    basis: CertaintyBasis, spec: PooledSpec, terms: OutcomeTerms, judgements: Sequence[Judgement]
) -> CertaintyRead:
    """GRADE certainty of ``basis``, with the curators' ``judgements`` of its cell."""
    return assess_certainty(
        basis,
        mid=spec.mid if spec.mid is not None else terms.mid,
        low_risk_qualities=get_settings().low_risk_of_bias_qualities,
        quality_fallback=get_settings().risk_of_bias_quality_fallback,
        alpha=get_settings().ois_alpha,
        power=get_settings().ois_power,
        judgements=judgements,
    )


def statement_of(
    answer: PooledRead, certainty: CertaintyRead | None, words: OutcomeWords
) -> StatementRead | None:
    """The informative statement of a pooled answer, or the narrative one."""
    result = answer.result
    if certainty is not None and result is not None:
        numbers = PooledNumbers(
            estimate=result.estimate or 0.0,
            ci_lower=result.ci_lower or 0.0,
            ci_upper=result.ci_upper or 0.0,
            ci_level=result.level,
            trials=answer.k,
            participants=answer.participants,
            certainty=certainty.level,
        )
        return pooled_statement(numbers, words)
    return narrative_statement_of(answer.narrative, words)


def narrative_statement_of(
    narrative: NarrativeRead | None, words: OutcomeWords
) -> StatementRead | None:
    """The statement of a narrative synthesis (``None`` for a pooled answer)."""
    if narrative is None:
        return None
    d = narrative.directions
    counts = (
        DirectionCounts(
            d.k,
            d.favours_intervention,
            d.favours_control,
            d.no_difference,
            d.sign_test_p_value,
            clear_benefit=d.favours_intervention_ci_excludes_zero,
            clear_harm=d.favours_control_ci_excludes_zero,
        )
        if d
        else None
    )
    return narrative_statement(counts, narrative.k_randomized, narrative.min_k, words)


def with_assessment(session: Session, answer: PooledRead, spec: PooledSpec) -> PooledRead:
    """``answer`` with its GRADE ``certainty`` and its ``statement``."""
    terms = JudgementRepository(session).outcome_terms(spec.outcome)
    if terms is None:
        return answer
    certainty = certainty_of(session, answer, spec, terms)
    statement = statement_of(answer, certainty, outcome_words(terms))
    bayes = bayes_answer(answer, spec, mid=spec.mid if spec.mid is not None else terms.mid)
    return answer.model_copy(
        update={"certainty": certainty, "statement": statement, "bayes": bayes}
    )
