"""Plots of pooled answers: forest, funnel and history, conditional like the JSON answers.

A plot is fixed by what its JSON answer is fixed by (specification, evidence version, engine
version) and by its kind and format, so its strong ETag is derived from those; a client holding
it gets a 304 before anything is read or drawn. The numbers come from the same use cases as
the JSON routes (:mod:`service.usecases.judgement.answers`), so a plot never disagrees with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from service.plots.data import (
    Caption,
    Diamond,
    ForestData,
    FunnelData,
    HistoryData,
    HistoryPoint,
    PooledStats,
    SequentialLimits,
    StudyPoint,
)
from service.plots.formats import ImageFormat
from service.schemas.analyses import AnalysisResult
from service.schemas.pooled import HistoryQuery, PooledQuery, PooledRead
from service.schemas.sequential import MonitoringQuery
from service.stats.bias import trim_and_fill
from service.stats.errors import ConvergenceError, StatsInputError
from service.usecases.analyses.cost import UNLIMITED, ComputeBudget
from service.usecases.judgement.answers import (
    Conditional,
    pooled_history,
    pooled_result,
    resolve_version,
)
from service.usecases.judgement.monitoring import monitoring
from service.usecases.pooled.cache import ResultCache, cache_key, none_match, strong_etag
from service.usecases.pooled.rob_figures import KINDS, rob_figure
from service.usecases.pooled.spec import spec_from_options
from service.usecases.studies.labels import PLAIN, Labels, vocabulary_labels
from service.usecases.studies.versions import list_versions

Render = Callable[[int], bytes]


def _conditional(
    session: Session,
    key_parts: tuple[str, str],
    render: Render,
    *,
    as_of: int | None,
    if_none_match: str | None,
) -> Conditional[bytes]:
    version = resolve_version(session, as_of)
    etag = strong_etag(cache_key(*key_parts, version))
    pinned = as_of is not None
    if none_match(if_none_match, etag):
        return Conditional(etag, version, pinned=pinned, body=None)
    body = render(version)
    return Conditional(etag, version, pinned=pinned, body=body, json=body)


def _evidence_line(session: Session, version: int, engine: str) -> str:
    page = list_versions(session, before=version + 1, limit=1)
    when = f" of {page.items[0].created_at:%Y-%m-%d}" if page.items else ""
    return f"Evidence version {version}{when}; engine {engine}"


def _title(outcome: str, category: str | None, what: str, labels: Labels) -> str:
    scope = f", {labels.category(category)}" if category else ""
    return f"{labels.outcome(outcome)}{scope}: {what}"


def _text_of(value: Any, key: str) -> str | None:
    if isinstance(value, dict):
        found = value.get(key)
        return str(found) if found else None
    return str(value) if value else None


def certainty_text(answer: dict[str, Any]) -> str | None:
    """ "Low. <statement>": the certainty of the evidence and its statement, when the answer
    (a dump, so that answers without them simply have none) carries them."""
    certainty = answer.get("certainty")
    level = _text_of(certainty, "level")
    parts = [
        Labels.certainty(level) if level else None,
        _text_of(answer.get("statement"), "text")
        or (_text_of(certainty, "statement") if isinstance(certainty, dict) else None),
    ]
    text = ". ".join(p.rstrip(".") for p in parts if p)
    return f"{text}." if text else None


def _studies(answer: PooledRead, labels: Labels) -> tuple[StudyPoint, ...]:
    grouped = answer.dependence is not None  # say which rows stand for several effects
    return tuple(
        StudyPoint(
            _study_label(s.label, s.instruments, grouped),
            s.yi,
            s.vi,
            s.ci_lower,
            s.ci_upper,
            s.weight,
            labels.category(s.category),
            s.risk_of_bias,
            warnings=len(s.data_warnings),
        )
        for s in answer.studies
    )  # fmt: skip


def _study_label(label: str, instruments: list[str], grouped: bool) -> str:
    if not grouped or len(instruments) < 2:
        return label
    return f"{label} ({len(instruments)} instruments)"


def _dependence_diamond(answer: PooledRead) -> Diamond | None:
    """The three-level or CHE estimate of every effect (CHE: its CR2 interval)."""
    model = answer.dependence
    if model is None:
        return None
    counts = f"{model.k_effects} effects, {model.k_studies} studies"
    if model.robust is not None:
        return Diamond(f"CHE, CR2 ({counts})", model.estimate, model.robust.ci_lower,
                       model.robust.ci_upper)  # fmt: skip
    return Diamond(f"Three-level ({counts})", model.estimate, model.ci_lower, model.ci_upper)


# The canonical names of the pooled tau priors (spec.py's TauPriorName), as the footer says them.
_TAU_PRIOR_WORDS = {
    "half_normal": "half-normal({})",
    "half_cauchy": "half-Cauchy({})",
    "cochrane_smd": "InvGamma(1.51, 0.23) (Cochrane SMD)",
    "rhodes_mental_health": "log tau² ~ t5(-3.85, 1.93) (Rhodes, mental health)",
}


def _bayes_diamond(answer: PooledRead) -> Diamond | None:
    """The posterior median on its credible interval: the answer's own ``bayes`` numbers."""
    block = answer.bayes
    if block is None:
        return None
    level = f"{round(answer.spec.level * 100)}%"
    return Diamond(f"Bayesian RE (median, {level} CrI)", block.mu.median, block.mu.ci_lower,
                   block.mu.ci_upper)  # fmt: skip


def _bayes_note(answer: PooledRead) -> str | None:
    """The footer's line for the Bayesian diamond: its priors and P(effect > MID)."""
    block, canonical = answer.bayes, answer.spec.bayes
    if block is None or canonical is None:
        return None
    tau_text, _, effect_text = canonical.partition(";")  # e.g. "half_normal:0.5;normal:1"
    name, _, scale = tau_text.partition(":")
    tau = _TAU_PRIOR_WORDS.get(name, name).format(scale)
    kind, _, sd = effect_text.partition(":")
    effect = f"N(0, {sd}²)" if kind == "normal" else "flat"
    line = f"Bayesian random effects: tau ~ {tau}, effect prior {effect}"
    if block.p_benefit_gt_mid is not None and block.mid is not None:
        line += f"; P(g > {block.mid:g}) = {block.p_benefit_gt_mid:.3f}"
    return line


def _stats(answer: PooledRead, result: AnalysisResult) -> PooledStats:
    return PooledStats(
        k=answer.k,
        participants=answer.participants,
        tau2=result.tau2,
        i2=result.i2,
        q=result.q,
        q_df=result.q_df,
        q_p_value=result.q_p_value,
        statistic=result.statistic,
        statistic_name="z" if result.df is None else "t",
        p_value=result.p_value,
    )


def _subgroups(result: AnalysisResult, labels: Labels) -> tuple[Diamond, ...]:
    # Each level's own interval, as the answer reports it (its fit's CI method, HKSJ
    # included), never one recomputed here: the plot and the JSON cannot disagree.
    if result.subgroups is None:
        return ()
    return tuple(
        Diamond(labels.category(name), g.estimate, g.ci_lower, g.ci_upper)
        for name, g in sorted(result.subgroups.levels.items())
        if g.estimate is not None and g.ci_lower is not None and g.ci_upper is not None
    )


def method_line(result: AnalysisResult, k: int) -> str:
    """The footer's method: estimator, CI method and k, as the answer's ``result`` names them."""
    if result.estimator in ("EE", "FE"):
        return f"Method: common effect ({result.estimator}), {result.ci_method} CI; k = {k}"
    return f"Method: random effects, tau² by {result.estimator}, {result.ci_method} CI; k = {k}"


def _pooled_label(result: AnalysisResult) -> str:
    if result.estimator in ("EE", "FE"):
        return "Common effect"
    return f"Random effects ({result.estimator}, {result.ci_method})"


def forest_data(answer: PooledRead, caption: Caption, labels: Labels = PLAIN) -> ForestData:
    """The forest plot of a pooled answer (studies only, and why, for a narrative one)."""
    result = answer.result
    level = answer.spec.level
    if (
        result is None
        or result.estimate is None
        or result.ci_lower is None
        or result.ci_upper is None
    ):
        reason = answer.narrative.reason if answer.narrative else "the result is undefined"
        studies = _studies(answer, labels)
        return ForestData(caption, level, studies, None, None, None, no_pooling=reason)
    pooled = Diamond(_pooled_label(result), result.estimate, result.ci_lower, result.ci_upper)
    prediction = None
    if result.pi_lower is not None and result.pi_upper is not None:
        prediction = (result.pi_lower, result.pi_upper)
    grouped = answer.spec.category is None
    return ForestData(
        caption,
        level,
        _studies(answer, labels),
        pooled,
        prediction,
        _stats(answer, result),
        subgroups=_subgroups(result, labels) if grouped else (),
        dependence=_dependence_diamond(answer),
        method=method_line(result, answer.k),
        bayes=_bayes_diamond(answer),
        bayes_note=_bayes_note(answer),
    )


def _filled(answer: PooledRead) -> tuple[tuple[float, float], ...]:
    if "trim_and_fill" not in answer.spec.sections or len(answer.studies) < 3:
        return ()
    yi = [s.yi for s in answer.studies]
    vi = [s.vi for s in answer.studies]
    try:
        filled = trim_and_fill(yi, vi)
    except (StatsInputError, ConvergenceError):
        return ()  # the JSON answer says why in its warnings
    k = len(yi)
    return tuple(zip(filled.filled_yi[k:].tolist(), filled.filled_vi[k:].tolist(), strict=True))


def _caption(session: Session, answer: PooledRead, what: str, labels: Labels) -> Caption:
    return Caption(
        title=_title(answer.outcome, answer.spec.category, what, labels),
        evidence=_evidence_line(session, answer.evidence_version, answer.engine_version),
        certainty=certainty_text(answer.model_dump()),
    )


def pooled_figure(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: PooledQuery,
    *,
    kind: str,
    fmt: ImageFormat,
    if_none_match: str | None = None,
    budget: ComputeBudget = UNLIMITED,
) -> Conditional[bytes]:
    """The ``kind`` plot (``forest``, ``funnel``, ``risk-of-bias`` or ``risk-of-bias-summary``)
    of one outcome's pooled answer.

    Priced like the answer it draws (``budget``); keyed by the same specification, ``mid``
    included, since the certainty it prints depends on it.
    """
    spec = spec_from_options(
        outcome, query, category=query.category, sections=query.sections, mid=query.mid
    )

    def render(version: int) -> bytes:
        # Imported here, not at the top: the drawing modules load matplotlib (over a second),
        # which only a plot needs, and this module is imported at every start (issue 24).
        from service.plots.forest import forest_plot
        from service.plots.funnel import funnel_plot

        pinned = query.model_copy(update={"as_of": version})
        answer = pooled_result(session, cache, outcome, pinned, budget=budget).body
        assert answer is not None  # no If-None-Match was sent
        labels = vocabulary_labels(session)
        if kind == "forest":
            caption = _caption(session, answer, "forest plot", labels)
            return forest_plot(forest_data(answer, caption, labels), fmt)
        if kind in KINDS:
            caption = _caption(session, answer, "risk of bias", labels)
            return rob_figure(answer, caption, kind, fmt)
        caption = _caption(session, answer, "funnel plot", labels)
        estimate = answer.result.estimate if answer.result else None
        studies = _studies(answer, labels)
        method = method_line(answer.result, answer.k) if answer.result else None
        data = FunnelData(caption, studies, estimate, _filled(answer), method=method)
        return funnel_plot(data, fmt)

    return _conditional(
        session,
        (f"{kind}.{fmt}", spec.canonical()),
        render,
        as_of=query.as_of,
        if_none_match=if_none_match,
    )


def _sequential(session: Session, outcome: str, query: HistoryQuery) -> SequentialLimits | None:
    """The TSA-adjusted interval of GET .../monitoring (default design) at its newest look."""
    read = monitoring(session, outcome, MonitoringQuery(**query.model_dump()))
    if not read.looks or read.tsa_ci_lower is None or read.tsa_ci_upper is None:
        return None
    return SequentialLimits(read.looks[-1].evidence_version, read.tsa_ci_lower, read.tsa_ci_upper)


def history_figure(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: HistoryQuery,
    *,
    fmt: ImageFormat,
    if_none_match: str | None = None,
    budget: ComputeBudget = UNLIMITED,
) -> Conditional[bytes]:
    """The living trajectory of one outcome, after every version that changed it (priced
    like the history it draws)."""
    spec = spec_from_options(outcome, query, category=query.category, mid=query.mid)

    def render(version: int) -> bytes:
        # Deferred like pooled_figure's: matplotlib loads with the first plot, not at start.
        from service.plots.history import history_plot

        pinned = query.model_copy(update={"as_of": version})
        answer = pooled_history(session, cache, outcome, pinned, budget=budget).body
        assert answer is not None
        caption = Caption(
            title=_title(
                outcome, query.category, "pooled estimate over time", vocabulary_labels(session)
            ),
            evidence=_evidence_line(session, version, answer.engine_version),
        )
        points = tuple(
            HistoryPoint(
                p.evidence_version, p.estimate, p.ci_lower, p.ci_upper, p.pi_lower, p.pi_upper
            )
            for p in answer.points
        )
        spec = answer.spec
        method = f"Method: tau² by {spec.estimator}, {spec.ci_method} CI; k as at each version"
        sequential = _sequential(session, outcome, pinned)
        return history_plot(HistoryData(caption, points, sequential, method=method), fmt)

    return _conditional(
        session,
        (f"history.{fmt}", spec.canonical()),
        render,
        as_of=query.as_of,
        if_none_match=if_none_match,
    )
