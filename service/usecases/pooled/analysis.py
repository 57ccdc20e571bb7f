"""One outcome's selected effects, analysed as the review would: pooled, or narrated.

The review's rule (Burke et al. 2019): a meta-analysis only where at least ``min_k`` (four)
randomized studies remain; otherwise a narrative synthesis of the individual effects with
their intervals, their directions and a sign test. A pooled result is computed exactly as
``POST /v1/analyses`` computes it (:func:`core_fields`, the same section builders), so the
two agree to the last digit on the same effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.schemas.analyses import AnalysisResult, SubgroupsRead
from service.schemas.common import trusted
from service.schemas.pooled import (
    CombinationRead,
    DirectionsRead,
    NarrativeRead,
    PooledRead,
    PooledStudyRead,
)
from service.schemas.pooled_summary import PooledSummaryRead
from service.schemas.studies import DataWarningRead
from service.stats import ENGINE_VERSION
from service.stats.aggregate import DEFAULT_CORRELATION
from service.stats.heterogeneity import heterogeneity_intervals
from service.stats.models import RandomEffectsFit, fit_random_effects
from service.stats.narrative import effect_intervals, summarise_directions
from service.usecases.analyses import sections as analysis_sections
from service.usecases.analyses.numbers import finite, finite_pair
from service.usecases.analyses.service import AnalysisInput, core_fields, effect_rows
from service.usecases.pooled.dependence import dependence_answer
from service.usecases.pooled.multi_arm import MERGING
from service.usecases.pooled.selection import AVERAGING, FIRST, StudyEffect
from service.usecases.pooled.spec import MultiArm, Multiple, PooledSpec
from service.usecases.pooled.study_rows import StudyRows

# Small-study tests are shown from ten studies on (Cochrane Handbook, section 13.3.5.4).
SMALL_STUDY_K = 10
SECTION_ORDER = (
    "egger", "begg", "trim_and_fill", "failsafe", "leave_one_out", "influence", "cumulative",
    "subgroups",
)  # fmt: skip


def analyse_outcome(
    effects: Sequence[StudyEffect],
    spec: PooledSpec,
    *,
    version: int,
    deadline: float | None = None,
    rows: StudyRows | None = None,
) -> PooledRead:
    """The pooled result of ``effects`` under ``spec`` at evidence ``version``.

    Sections that refit once per study stop past ``deadline`` (a ``time.monotonic()`` instant).
    ``rows``: the study rows of earlier answers, to carry (:mod:`.study_rows`).
    """
    k_randomized = sum(e.randomized for e in effects)
    pooled = _poolable(effects, spec)
    result = _pooled(effects, spec, deadline) if pooled else None
    weights = [e.weight for e in result.effects] if result else [None] * len(effects)
    return PooledRead(
        outcome=spec.outcome,
        status="pooled" if pooled else "insufficient_evidence",
        evidence_version=version,
        engine_version=ENGINE_VERSION,
        spec=spec.read(),
        combination=combination(spec.multiple, spec.multi_arm),
        k=len(effects),
        k_randomized=k_randomized,
        participants=sum(e.participants for e in effects),
        studies=_studies(effects, weights, spec.level, rows if rows is not None else StudyRows()),
        result=result,
        narrative=None if pooled else _narrative(effects, spec, k_randomized),
        dependence=dependence_answer(effects, spec) if pooled else None,
    )


def headline(effects: Sequence[StudyEffect], spec: PooledSpec) -> dict[str, Any]:
    """The fields of :func:`summary_of` for ``analyse_outcome(effects, spec)``, fitting only.

    For histories and write responses: no sections, no intervals for tau2, no study list,
    which is most of the cost (Begg's exact test alone can outweigh all the rest). The
    numbers are the same, through the same :func:`core_fields`.
    """
    pooled = _poolable(effects, spec)
    core = core_fields(_fit_effects(effects, spec), None) if pooled else {}
    return _summary(
        "pooled" if pooled else "insufficient_evidence",
        len(effects),
        sum(e.participants for e in effects),
        core,
    )


@dataclass(frozen=True, slots=True)
class FittedHeadline:
    """:func:`headline`'s fields with what they came from: the fit (pooled) or the narrative."""

    summary: dict[str, Any]
    core: dict[str, Any]  # core_fields of the fit; empty when narrative
    fit: RandomEffectsFit | None
    narrative: NarrativeRead | None


def fitted_headline(effects: Sequence[StudyEffect], spec: PooledSpec) -> FittedHeadline:
    """:func:`headline`, keeping the fit or the narrative (for the summary table's certainty)."""
    k_randomized = sum(e.randomized for e in effects)
    pooled = _poolable(effects, spec)
    fit = _fit_effects(effects, spec) if pooled else None
    core = core_fields(fit, None) if fit is not None else {}
    summary = _summary(
        "pooled" if pooled else "insufficient_evidence",
        len(effects),
        sum(e.participants for e in effects),
        core,
    )
    narrative = None if pooled else _narrative(effects, spec, k_randomized)
    return FittedHeadline(summary, core, fit, narrative)


def _poolable(effects: Sequence[StudyEffect], spec: PooledSpec) -> bool:
    """The review's rule: at least ``min_k`` eligible randomized studies."""
    return bool(effects) and sum(e.randomized for e in effects) >= spec.min_k


def combination(multiple: Multiple, multi_arm: MultiArm = MultiArm.SEPARATE) -> CombinationRead:
    """How studies with several effects were reduced to one (stated in every response)."""
    merging = MERGING if multi_arm is MultiArm.COMBINE else ""
    if multiple is Multiple.FIRST:
        return CombinationRead(
            method="first", assumed_correlation=None, description=FIRST + merging
        )
    return CombinationRead(
        method="average",
        assumed_correlation=DEFAULT_CORRELATION,
        description=AVERAGING + merging,
    )


def section_names(spec: PooledSpec, k: int) -> list[str]:
    """The sections a pooled result carries, in the order they are computed.

    Requested sections; small-study tests from ten studies on; and, across all categories,
    the per-category subgroups with the test of their differences.
    """
    names = set(spec.sections)
    if k >= SMALL_STUDY_K:
        names |= {"egger", "begg"}
    if spec.category is None:
        names.add("subgroups")
    return [name for name in SECTION_ORDER if name in names]


def analysis_input(
    effects: Sequence[StudyEffect], spec: PooledSpec, deadline: float | None = None
) -> AnalysisInput:
    """The engine's view of the effects; groups are the categories."""
    return AnalysisInput(
        labels=tuple(e.label for e in effects),
        yi=np.array([e.yi for e in effects], dtype=float),
        vi=np.array([e.vi for e in effects], dtype=float),
        groups=tuple(e.category for e in effects),
        moderators=(None,) * len(effects),
        estimator=spec.estimator,
        ci_method=spec.ci_method,
        level=spec.level,
        deadline=deadline,
    )


def fitted_input(fit: RandomEffectsFit, spec: PooledSpec) -> AnalysisInput:
    """The engine's view of a fit's effects for sections that read only ``yi`` and ``vi``
    (Egger's tests): the fit's arrays, with blank labels and no groups or moderators."""
    return AnalysisInput(
        labels=("",) * fit.k,
        yi=fit.yi,
        vi=fit.vi,
        groups=(None,) * fit.k,
        moderators=(None,) * fit.k,
        estimator=spec.estimator,
        ci_method=spec.ci_method,
        level=spec.level,
    )


def _fit_effects(effects: Sequence[StudyEffect], spec: PooledSpec) -> RandomEffectsFit:
    """The same fit as ``_fit(analysis_input(...))``, without labels and groups."""
    yi = np.fromiter((e.yi for e in effects), dtype=float, count=len(effects))
    vi = np.fromiter((e.vi for e in effects), dtype=float, count=len(effects))
    return fit_random_effects(
        yi, vi, estimator=spec.estimator, ci_method=spec.ci_method, level=spec.level
    )


def _fit(data: AnalysisInput) -> RandomEffectsFit:
    return fit_random_effects(
        data.yi, data.vi, estimator=data.estimator, ci_method=data.ci_method, level=data.level
    )


def _pooled(
    effects: Sequence[StudyEffect], spec: PooledSpec, deadline: float | None
) -> AnalysisResult:
    data = analysis_input(effects, spec, deadline)
    fit = _fit(data)
    warnings = list(fit.warnings)
    extra: dict[str, Any] = {}
    for name in section_names(spec, fit.k):
        extra.update(analysis_sections.compute(name, data, fit, warnings))
    if extra.get("subgroups") is not None:
        extra["subgroups"] = _with_level_status(extra["subgroups"], effects, spec)
    return AnalysisResult(
        **core_fields(fit, heterogeneity_intervals(fit)),
        warnings=warnings,
        effects=effect_rows(data.labels, fit),
        **extra,
    )


def _with_level_status(
    subgroups: SubgroupsRead, effects: Sequence[StudyEffect], spec: PooledSpec
) -> SubgroupsRead:
    """Each category's level with the status its own cell of the table has (the review's rule).

    A level is fitted whatever its size (the test of subgroup differences needs every level),
    but one with fewer than ``min_k`` randomized studies is flagged ``insufficient_evidence``,
    so that a reader does not take its estimate for a pooled result the review would report.
    """
    randomized: dict[str, int] = {}
    for effect in effects:
        randomized[effect.category] = randomized.get(effect.category, 0) + effect.randomized
    levels = {
        name: level.model_copy(
            update={
                "status": "pooled"
                if randomized.get(name, 0) >= spec.min_k
                else "insufficient_evidence"
            }
        )
        for name, level in subgroups.levels.items()
    }
    return subgroups.model_copy(update={"levels": levels})


def _studies(
    effects: Sequence[StudyEffect],
    weights: Sequence[float | None],
    level: float,
    rows: StudyRows,
) -> list[PooledStudyRead]:
    """The study list, built without validating each row (:func:`trusted`): at 10,000 studies
    validation was most of the first answer after a write. Every value is converted to its
    field's type here, as validation would. A row's fields but its weight come from ``rows``
    when an earlier answer built them for the same effect and level."""
    if not effects:
        return []
    intervals = effect_intervals([e.yi for e in effects], [e.vi for e in effects], level=level)
    known = rows.known(effects, level)
    built = []
    studies = []
    for e, fields, weight, lower, upper in zip(
        effects, known, weights, intervals.lower.tolist(), intervals.upper.tolist(), strict=True
    ):
        if fields is None:
            row = _study_fields(e, weight, lower, upper)
            built.append((e, row))  # read only from now on: copied, its weight replaced
        else:
            row = fields.copy()
            row["weight"] = None if weight is None else float(weight)
        studies.append(trusted(PooledStudyRead, row))
    rows.keep(level, built, effects)
    return studies


def _study_fields(
    e: StudyEffect, weight: float | None, lower: float, upper: float
) -> dict[str, Any]:
    """:class:`PooledStudyRead`'s fields of ``e``, in its order and of its types."""
    return {
        "study_id": int(e.study_id),
        "label": e.label,
        "year": int(e.year),
        "category": e.category,
        "design": e.design,
        "comparator": e.comparator,
        "quality": e.quality,
        "timepoint_weeks": float(e.timepoint_weeks),
        "timepoint_label": e.timepoint_label,
        "instruments": list(e.instruments),
        "participants": int(e.participants),
        "yi": float(e.yi),
        "vi": float(e.vi),
        "ci_lower": float(lower),
        "ci_upper": float(upper),
        "weight": None if weight is None else float(weight),
        "data_warnings": [DataWarningRead.model_validate(w) for w in e.data_warnings],
        "risk_of_bias": e.risk_of_bias,
        "risk_of_bias_tool": e.risk_of_bias_tool,
        "risk_of_bias_domains": dict(e.risk_of_bias_domains) if e.risk_of_bias else {},
    }


def _narrative(
    effects: Sequence[StudyEffect], spec: PooledSpec, k_randomized: int
) -> NarrativeRead:
    reason = (
        f"{k_randomized} eligible randomized {'study' if k_randomized == 1 else 'studies'}, "
        f"fewer than min_k = {spec.min_k}: the review synthesises them narratively instead of "
        "pooling (Burke et al. 2019)."
    )
    directions = None
    if effects:
        summary = summarise_directions([e.yi for e in effects], level=spec.level)
        # Each study's own interval, as the study list reports it: a point that favours peer
        # support is a clear benefit only when its interval excludes no effect.
        own = effect_intervals([e.yi for e in effects], [e.vi for e in effects], level=spec.level)
        directions = DirectionsRead(
            k=summary.k,
            favours_intervention=summary.favours_intervention,
            favours_intervention_ci_excludes_zero=int((own.lower > 0).sum()),
            favours_control=summary.favours_control,
            favours_control_ci_excludes_zero=int((own.upper < 0).sum()),
            no_difference=summary.no_difference,
            sign_test_p_value=summary.sign_test_p_value,
            proportion=finite(summary.proportion),
            proportion_ci=finite_pair(summary.proportion_ci),
            level=summary.level,
        )
    return NarrativeRead(
        reason=reason, k_randomized=k_randomized, min_k=spec.min_k, directions=directions
    )


SUMMARY_FIELDS = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "tau2", "i2")


def summary_of(answer: PooledRead) -> dict[str, Any]:
    """The headline fields of ``answer`` (for tables, histories and write responses)."""
    core = answer.result.model_dump() if answer.result else {}
    return _summary(answer.status, answer.k, answer.participants, core)


def _summary(status: str, k: int, participants: int, core: dict[str, Any]) -> dict[str, Any]:
    numbers = {name: core.get(name) for name in SUMMARY_FIELDS}
    return PooledSummaryRead.model_validate(
        {"status": status, "k": k, "participants": participants, **numbers}
    ).model_dump()
