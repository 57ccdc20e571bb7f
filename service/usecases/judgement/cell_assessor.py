"""The certainty level and statement of one cell at any version, cheaply (histories, events).

``GET .../history`` refits the evidence at every version that changed it, fitting only
(:func:`service.usecases.pooled.analysis.headline_and_fit`). Building each version's whole
pooled answer to assess it (a response model per study) cost about 100 ms a point at 2,000
studies, 200 times the fit. The GRADE rules read a few numbers, so they are taken here from
that fit and the effects (random-effects weights, each study's CI, Egger's test from ten
studies on, through the very section builder the pooled answer uses) and passed to the same
rule functions as a pooled answer's (:func:`.certainty.assess_inputs` and
:mod:`.statements`), with the curators' judgements valid at each version: the same level and
words as ``GET .../pooled?as_of=`` that version (a test compares them point by point). A
write's ``certainty`` reason of ``conclusion.changed`` uses it too.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.db.repositories.judgement import JudgementRepository, OutcomeTerms
from service.schemas.pooled import PooledRead
from service.settings import get_settings
from service.stats.certainty import Interval
from service.stats.models import RandomEffectsFit
from service.stats.narrative import effect_intervals, summarise_directions
from service.usecases.analyses import sections as analysis_sections
from service.usecases.judgement.assessment import judgement_of_row, outcome_words
from service.usecases.judgement.certainty import CertaintyInputs, Judgement, assess_inputs
from service.usecases.judgement.statements import (
    DirectionCounts,
    PooledNumbers,
    narrative_statement,
    pooled_statement,
)
from service.usecases.pooled.analysis import SMALL_STUDY_K, analysis_input
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import PooledSpec


@dataclass(frozen=True, slots=True)
class PointAssessment:
    """What a history point says beyond its numbers (``None``: not pooled / no outcome)."""

    level: str | None
    statement: str | None

    @classmethod
    def of_answer(cls, answer: PooledRead) -> PointAssessment:
        """The level and statement of a whole (cached) pooled answer."""
        level = answer.certainty.level if answer.certainty else None
        return cls(level, answer.statement.text if answer.statement else None)


def _egger_p(
    effects: Sequence[StudyEffect], spec: PooledSpec, fit: RandomEffectsFit
) -> float | None:
    if fit.k < SMALL_STUDY_K:  # as section_names: small-study tests from ten studies on
        return None
    fields = analysis_sections.compute("egger", analysis_input(effects, spec), fit, [])
    egger = fields["egger"]
    return egger.p_value if egger is not None else None


def certainty_inputs(
    effects: Sequence[StudyEffect],
    spec: PooledSpec,
    fit: RandomEffectsFit,
    summary: Mapping[str, Any],
    low_risk_qualities: Collection[str],
) -> CertaintyInputs:
    """What :meth:`CertaintyInputs.of_answer` reads, from the fit instead of an answer."""
    intervals = effect_intervals(fit.yi, fit.vi, level=spec.level)
    pi = None
    if summary["pi_lower"] is not None and summary["pi_upper"] is not None:
        pi = Interval(summary["pi_lower"], summary["pi_upper"])
    return CertaintyInputs(
        ci=Interval(summary["ci_lower"], summary["ci_upper"]),
        pi=pi,
        i2=summary["i2"],
        k=fit.k,
        participants=summary["participants"],
        egger_p=_egger_p(effects, spec, fit),
        weights=[float(w) if math.isfinite(w) else 0.0 for w in fit.weights_percent],
        low_risk=[e.quality in low_risk_qualities for e in effects],
        study_intervals=[
            Interval(float(lo), float(hi))
            for lo, hi in zip(intervals.lower, intervals.upper, strict=True)
        ],
    )


@dataclass(frozen=True, slots=True)
class CellAssessor:
    """Assesses one cell at any versions from two queries (its terms, every judgement)."""

    spec: PooledSpec
    terms: OutcomeTerms | None
    judgements: tuple[tuple[int, int | None, Judgement], ...]  # (valid_from, valid_to, it)

    @classmethod
    def load(cls, session: Session, spec: PooledSpec) -> CellAssessor:
        repository = JudgementRepository(session)
        rows = repository.history(spec.outcome, spec.category)
        judged = tuple((row.valid_from, row.valid_to, judgement_of_row(row)) for row in rows)
        return cls(spec, repository.outcome_terms(spec.outcome), judged)

    def judgements_at(self, version: int) -> list[Judgement]:
        """As :func:`.assessment.judgements_at`: valid from their version until closed."""
        return [
            judgement
            for start, end, judgement in self.judgements
            if start <= version and (end is None or version < end)
        ]

    def assess(
        self,
        effects: Sequence[StudyEffect],
        fit: RandomEffectsFit | None,
        summary: Mapping[str, Any],
        version: int,
    ) -> PointAssessment:
        """The level and statement of the evidence ``effects`` (fitted: ``fit``) at ``version``."""
        if self.terms is None:
            return PointAssessment(None, None)
        if fit is None:
            return PointAssessment(None, self._narrative(effects))
        if summary["ci_lower"] is None or summary["ci_upper"] is None:
            return PointAssessment(None, None)  # as a pooled answer without a CI
        mid = self.spec.mid if self.spec.mid is not None else self.terms.mid
        low_risk = get_settings().low_risk_of_bias_qualities
        inputs = certainty_inputs(effects, self.spec, fit, summary, low_risk)
        level = assess_inputs(
            inputs, version=version, mid=mid, judgements=self.judgements_at(version)
        ).level
        numbers = PooledNumbers(
            estimate=summary["estimate"] or 0.0,
            ci_lower=summary["ci_lower"],
            ci_upper=summary["ci_upper"],
            ci_level=self.spec.level,
            trials=len(effects),
            participants=summary["participants"],
            certainty=level,
        )
        return PointAssessment(level, pooled_statement(numbers, outcome_words(self.terms)).text)

    def _narrative(self, effects: Sequence[StudyEffect]) -> str:
        assert self.terms is not None
        counts = None
        if effects:
            d = summarise_directions([e.yi for e in effects], level=self.spec.level)
            counts = DirectionCounts(
                d.k, d.favours_intervention, d.favours_control, d.no_difference, d.sign_test_p_value
            )
        k_randomized = sum(e.randomized for e in effects)
        words = outcome_words(self.terms)
        return narrative_statement(counts, k_randomized, self.spec.min_k, words).text
