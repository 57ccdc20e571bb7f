"""Certainty and statement of a summary-table cell, without building the cell's full answer.

``GET /v1/pooled`` fits each cell and nothing more (no sections, no tau2 intervals, no study
list), which is what keeps it fast. The GRADE rules read a little more, and only that is
computed here: each study's random-effects weight and quality rating, the studies' confidence
intervals (:func:`service.stats.narrative.effect_intervals`), the prediction interval, I2, the
participants, and Egger's test where the full answer runs it (from ten studies on,
:func:`service.usecases.pooled.analysis.section_names`). Every number comes from the function
the full answer uses, so a cell's certainty and statement are its answer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from sqlalchemy.orm import Session

from service.db.models import CertaintyJudgement
from service.db.repositories.judgement import JudgementRepository, OutcomeTerms
from service.schemas.certainty import CellCertaintyRead, CertaintyRead, StatementRead
from service.schemas.pooled import PooledRead
from service.stats.certainty import Interval
from service.stats.models import RandomEffectsFit
from service.stats.narrative import effect_intervals
from service.usecases.analyses import sections as analysis_sections
from service.usecases.analyses.numbers import finite
from service.usecases.judgement.assessment import (
    assess,
    judgements_of,
    narrative_statement_of,
    outcome_words,
)
from service.usecases.judgement.certainty import (
    CertaintyBasis,
    Judgement,
    interval_or_none,
    pi_distribution,
)
from service.usecases.judgement.statements import OutcomeWords, PooledNumbers, pooled_statement
from service.usecases.pooled.analysis import (
    FittedHeadline,
    fitted_headline,
    fitted_input,
    section_names,
)
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import PooledSpec


def cell_certainty(certainty: CertaintyRead | None) -> CellCertaintyRead | None:
    """The table's view of a certainty: its level and the domains that downgraded it."""
    if certainty is None:
        return None
    downgraded = [name for name, domain in certainty.domains.items() if domain.downgrade > 0]
    return CellCertaintyRead(level=certainty.level, downgraded=downgraded)


def answer_assessment(answer: PooledRead) -> dict[str, Any]:
    """A cell's ``certainty`` and ``statement`` from its full answer (when that is cached)."""
    return {"certainty": cell_certainty(answer.certainty), "statement": answer.statement}


def _egger_p(spec: PooledSpec, fit: RandomEffectsFit) -> float | None:
    """The full answer's Egger p-value: its section, on the fit's own arrays (the same
    values as the effects'), without building the labels and groups it does not read."""
    if "egger" not in section_names(spec, fit.k):
        return None
    fields = analysis_sections.compute("egger", fitted_input(fit, spec), fit, [])
    egger = fields["egger_classic" if spec.egger == "classic" else "egger"]
    return egger.p_value if egger is not None else None


class _StudyIntervals(Sequence[Interval]):
    """The studies' confidence intervals, each made when read.

    The rules read them only without a prediction interval (fewer than three studies); making
    6,000 frozen :class:`Interval` s up front took ~15 ms of a ~32 ms certainty assessment at
    10,000 studies, once per outcome per version the conclusions worker concludes.
    """

    def __init__(self, lower: list[float], upper: list[float]) -> None:
        self._lower, self._upper = lower, upper

    def __len__(self) -> int:
        return len(self._lower)

    @overload
    def __getitem__(self, index: int) -> Interval: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Interval]: ...
    def __getitem__(self, index: int | slice) -> Interval | Sequence[Interval]:
        if isinstance(index, slice):
            return _StudyIntervals(self._lower[index], self._upper[index])
        return Interval(self._lower[index], self._upper[index])


def _basis(
    effects: Sequence[StudyEffect], spec: PooledSpec, fitted: FittedHeadline, version: int
) -> CertaintyBasis | None:
    fit, core = fitted.fit, fitted.core
    ci = interval_or_none(core.get("ci_lower"), core.get("ci_upper"))
    if fit is None or ci is None:
        return None
    # The fit holds the effects' yi and vi as arrays (the same values, in the same order).
    # tolist(): Python floats at once; iterating the arrays boxes a numpy scalar per study
    # (a third of a certainty assessment at 6,000 studies). The same values.
    intervals = effect_intervals(fit.yi, fit.vi, level=spec.level)
    lower, upper = intervals.lower.tolist(), intervals.upper.tolist()
    return CertaintyBasis(
        k=fit.k,
        participants=fitted.summary["participants"],
        evidence_version=version,
        ci=ci,
        pi=interval_or_none(core.get("pi_lower"), core.get("pi_upper")),
        i2=core.get("i2"),
        egger_p=_egger_p(spec, fit),
        weights=[finite(w) or 0.0 for w in fit.weights_percent.tolist()],
        qualities=[e.quality for e in effects],
        study_intervals=_StudyIntervals(lower, upper),
        risks_of_bias=[e.risk_of_bias for e in effects],
        egger=spec.egger,
        pi_distribution=pi_distribution(str(spec.ci_method), fit.k),
        effects=list(zip(fit.yi.tolist(), fit.vi.tolist(), strict=True)),
    )


def _statement(
    fitted: FittedHeadline, certainty: CertaintyRead | None, words: OutcomeWords
) -> StatementRead | None:
    if certainty is None:
        return narrative_statement_of(fitted.narrative, words)
    core, summary = fitted.core, fitted.summary
    numbers = PooledNumbers(
        estimate=core["estimate"] or 0.0,
        ci_lower=core["ci_lower"] or 0.0,
        ci_upper=core["ci_upper"] or 0.0,
        ci_level=core["level"],
        trials=summary["k"],
        participants=summary["participants"],
        certainty=certainty.level,
    )
    return pooled_statement(numbers, words)


class CellAssessor:
    """Certainty and statement of the cells of one table, reading each outcome's terms and
    judgements once (not once per cell)."""

    def __init__(self, session: Session) -> None:
        self._repository = JudgementRepository(session)
        self._terms: dict[str, OutcomeTerms | None] = {}
        self._judgements: dict[tuple[str, int], dict[str | None, list[Judgement]]] = {}

    def _terms_of(self, outcome: str) -> OutcomeTerms | None:
        if outcome not in self._terms:
            self._terms[outcome] = self._repository.outcome_terms(outcome)
        return self._terms[outcome]

    def _judged(self, outcome: str, category: str | None, version: int) -> list[Judgement]:
        key = (outcome, version)
        if key not in self._judgements:
            by_category: dict[str | None, list[CertaintyJudgement]] = {}
            for row in self._repository.valid_at_outcome(outcome, version):
                by_category.setdefault(row.category_slug, []).append(row)
            self._judgements[key] = {c: judgements_of(rows) for c, rows in by_category.items()}
        return self._judgements[key].get(category, [])

    def headline(
        self, effects: Sequence[StudyEffect], spec: PooledSpec, version: int
    ) -> dict[str, Any]:
        """The headline fields of a cell at ``version``, with ``certainty`` and ``statement``."""
        fitted = fitted_headline(effects, spec)
        terms = self._terms_of(spec.outcome)
        if terms is None:
            return {**fitted.summary, "certainty": None, "statement": None}
        basis = _basis(effects, spec, fitted, version)
        certainty = None
        if basis is not None:
            judged = self._judged(spec.outcome, spec.category, version)
            certainty = assess(basis, spec, terms, judged)
        statement = _statement(fitted, certainty, outcome_words(terms))
        return {**fitted.summary, "certainty": cell_certainty(certainty), "statement": statement}
