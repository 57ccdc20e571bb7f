"""Plain view objects for the templates, built from what the use cases return.

Templates get strings and numbers, never models: formatting happens here, once, and a
template has nothing to do but loop and print. Fields that only some answers carry (the
certainty of the evidence, data warnings) are read from the answer's dump, so they appear
on the page when the data has them and are simply absent otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from service.plots.text import effect_with_interval, interval, number
from service.schemas.pooled import PooledCellRead, PooledHistoryRead, PooledRead
from service.schemas.studies import StudyRead
from service.schemas.versions import EvidenceVersionRead
from service.usecases.judgement.figures import certainty_text
from service.usecases.studies.labels import PLAIN, Labels
from service.web.duplicates_view import DuplicateView


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str


@dataclass(frozen=True, slots=True)
class CellView:
    """One outcome in one category of the summary table."""

    key: str  # the category's slug, "all" for every category: the cell's id
    category: str  # its name, from the vocabulary
    status: str
    k: int
    effect: str
    certainty: str | None  # "Low certainty"
    statement: str | None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    outcome: str
    title: str
    href: str
    cells: tuple[CellView, ...]


@dataclass(frozen=True, slots=True)
class StudyRow:
    """A study in an outcome's table."""

    href: str
    label: str
    category: str
    quality: str
    participants: int
    effect: str
    weight: str
    warnings: tuple[str, ...] = ()  # "code field = value (plausible: ...)", per data warning


@dataclass(frozen=True, slots=True)
class HistoryRow:
    version: int
    date: str
    summary: str
    status: str
    k: int
    effect: str


@dataclass(frozen=True, slots=True)
class OutcomeView:
    """An outcome's page: the headline, the plots, the studies, the history, the links."""

    outcome: str
    title: str
    evidence_version: int
    status: str
    k: int
    participants: int
    effect: str
    estimate: str
    prediction: str | None
    heterogeneity: str | None
    narrative: str | None
    certainty: str | None
    plots: tuple[Link, ...]
    studies: tuple[StudyRow, ...]
    history: tuple[HistoryRow, ...]
    links: tuple[Link, ...]
    checked_version: int | None = None  # the newest version (the API's header)
    statement: str | None = None  # plain language, ending with the ongoing trials (issue 28)
    ongoing: Link | None = None  # "2 ongoing trials", to their list


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ResultView:
    """One outcome result of a study: as reported, and the effect derived from it."""

    outcome: str
    instrument: str
    timepoint: str
    reported: str
    effect: str
    conversion: str


@dataclass(frozen=True, slots=True)
class WarningView:
    """One data warning of one result, as the curator reads it before deciding."""

    outcome: str
    code: str
    level: str
    field: str
    value: str
    plausible: str
    message: str


@dataclass(frozen=True, slots=True)
class StudyView:
    """A study's page (also a pending study in the curation queue)."""

    id: int
    title: str
    label: str
    status: str
    status_reason: str | None
    etag: str
    fields: tuple[Field, ...]
    arms: tuple[Field, ...]
    results: tuple[ResultView, ...]
    warnings: tuple[WarningView, ...]
    history: tuple[Link, ...]
    duplicates: tuple[DuplicateView, ...] = ()  # possible duplicates, beside it

    @property
    def needs_reason(self) -> bool:
        """Whether including the study needs a reason (an error-level warning stands)."""
        return any(w.level == "error" for w in self.warnings)


@dataclass(frozen=True, slots=True)
class VersionRow:
    number: int
    date: str
    actor: str
    kind: str
    summary: str
    studies: tuple[Link, ...] = field(default=())


def _cell(cell: PooledCellRead, labels: Labels) -> CellView:
    effect = (
        effect_with_interval(cell.estimate, cell.ci_lower, cell.ci_upper)
        if cell.estimate is not None
        else "not pooled"
    )
    return CellView(
        key=cell.category or "all",
        category=labels.category(cell.category),
        status=cell.status.replace("_", " "),
        k=cell.k,
        effect=effect,
        certainty=f"{labels.certainty(cell.certainty.level)} certainty" if cell.certainty else None,
        statement=cell.statement.text if cell.statement else None,
    )


def summary_rows(cells: list[PooledCellRead], labels: Labels = PLAIN) -> tuple[SummaryRow, ...]:
    """The table's rows, one per outcome, overall first, then the categories."""
    outcomes = list(dict.fromkeys(c.outcome for c in cells))
    return tuple(
        SummaryRow(
            outcome=o,
            title=labels.outcome(o),
            href=f"/outcomes/{o}",
            cells=tuple(_cell(c, labels) for c in cells if c.outcome == o),
        )
        for o in outcomes
    )


def _study_row(study: Any, labels: Labels) -> StudyRow:
    return StudyRow(
        href=f"/studies/{study.study_id}",
        label=study.label,
        category=labels.category(study.category),
        quality=labels.quality_rating(study.quality),
        participants=study.participants,
        effect=effect_with_interval(study.yi, study.ci_lower, study.ci_upper),
        weight="" if study.weight is None else f"{study.weight:.1f}%",
        warnings=tuple(
            f"{w.code or 'data-warning'}: {w.field}"
            + (f" = {w.value}" if w.value else "")
            + (f" (plausible: {w.plausible})" if w.plausible else "")
            for w in study.data_warnings
        ),
    )


def _history_row(point: Any) -> HistoryRow:
    effect = (
        effect_with_interval(point.estimate, point.ci_lower, point.ci_upper)
        if point.estimate is not None
        else "not pooled"
    )
    return HistoryRow(
        version=point.evidence_version,
        date=f"{point.created_at:%Y-%m-%d}",
        summary=point.summary,
        status=point.status.replace("_", " "),
        k=point.k,
        effect=effect,
    )


def _heterogeneity(answer: PooledRead) -> str | None:
    result = answer.result
    if result is None:
        return None
    q = f"Q {number(result.q)} (df {result.q_df})"
    return f"tau² {number(result.tau2, 3)}, I² {number(result.i2, 0)}%, {q}"


def outcome_view(
    answer: PooledRead,
    history: PooledHistoryRead,
    links: tuple[Link, ...],
    labels: Labels = PLAIN,
) -> OutcomeView:
    """The outcome page of ``answer`` and its ``history``."""
    result = answer.result
    version = answer.evidence_version
    base = f"/v1/outcomes/{answer.outcome}"
    pinned = f"?as_of={version}"
    plots: tuple[Link, ...] = (
        Link("Forest plot", f"{base}/forest.svg{pinned}"),
        Link("Funnel plot", f"{base}/funnel.svg{pinned}"),
        Link("Pooled estimate over time", f"{base}/history.svg{pinned}"),
    )
    if any(s.risk_of_bias for s in answer.studies):  # robvis plots once a study is assessed
        plots += (
            Link("Risk of bias (traffic light)", f"{base}/risk-of-bias.svg{pinned}"),
            Link("Risk of bias (weighted summary)", f"{base}/risk-of-bias-summary.svg{pinned}"),
        )
    has_estimate = result is not None and result.estimate is not None
    return OutcomeView(
        outcome=answer.outcome,
        title=labels.outcome(answer.outcome),
        evidence_version=version,
        status=answer.status.replace("_", " "),
        k=answer.k,
        participants=answer.participants,
        effect=effect_with_interval(result.estimate, result.ci_lower, result.ci_upper)
        if result is not None and has_estimate
        else "not pooled",
        estimate=number(result.estimate) if result is not None and has_estimate else "–",
        prediction=interval(result.pi_lower, result.pi_upper)
        if result is not None and result.pi_lower is not None
        else None,
        heterogeneity=_heterogeneity(answer),
        narrative=answer.narrative.reason if answer.narrative else None,
        certainty=certainty_text(answer.model_dump()),
        plots=plots,
        studies=tuple(_study_row(s, labels) for s in answer.studies),
        history=tuple(_history_row(p) for p in reversed(history.points)),
        links=links,
        statement=_plain_statement(answer),
        ongoing=_ongoing_link(answer),
    )


def _plain_statement(answer: PooledRead) -> str | None:
    """The plain-language statement (its last sentence counts the ongoing trials)."""
    if answer.statement is not None:
        return answer.statement.plain_language
    return answer.ongoing.sentence if answer.ongoing else None


def _ongoing_link(answer: PooledRead) -> Link | None:
    """The link to the outcome's ongoing trials, when the answer counts any."""
    if answer.ongoing is None:
        return None
    noun = "trial" if answer.ongoing.count == 1 else "trials"
    return Link(f"{answer.ongoing.count} ongoing {noun}", answer.ongoing.href)


_STUDY_FIELDS = (
    ("authors", "Authors"), ("year", "Year"), ("design", "Design"), ("category", "Category"),
    ("intervention_name", "Intervention"), ("intervention_description", "Intervention details"),
    ("comparator", "Comparator"), ("comparator_description", "Comparator details"),
    ("population", "Population"), ("setting", "Setting"), ("country", "Country"),
    ("total_randomized", "Randomized"), ("quality_rating", "Quality"),
    ("quality_appraisal", "Quality appraisal"), ("doi", "DOI"), ("pmid", "PMID"),
    ("registration_id", "Registration"),
)  # fmt: skip


EDITABLE = (
    ("title", "Title"), ("authors", "Authors"), ("year", "Year"),
    ("quality_rating", "Quality (strong, moderate, weak)"),
    ("quality_appraisal", "Quality appraisal"),
    ("intervention_description", "Intervention details"), ("setting", "Setting"),
)  # fmt: skip
"""The fields the curation queue's edit form offers (name, label)."""


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    value: str


def editable_values(study: StudyRead) -> tuple[FormField, ...]:
    """The edit form's fields with the study's values."""
    dump = study.model_dump(mode="json")
    return tuple(
        FormField(name, label, "" if dump[name] is None else str(dump[name]))
        for name, label in EDITABLE
    )


def _result_view(result: Any, labels: Labels) -> ResultView:
    effect = result.effect
    flipped = " (sign flipped: lower is better)" if effect.sign_flipped else ""
    return ResultView(
        outcome=labels.outcome(result.outcome),
        instrument=result.instrument,
        timepoint=f"{result.timepoint.label}, {number(result.timepoint.weeks, 0)} weeks",
        reported=json.dumps(result.data.model_dump(mode="json"), ensure_ascii=False),
        effect=f"g {number(effect.yi, 3)}, variance {number(effect.vi, 4)}{flipped}",
        conversion=effect.conversion,
    )


def warning_views(study: StudyRead, labels: Labels = PLAIN) -> tuple[WarningView, ...]:
    """Every data warning of every result (they are stored per result, not per study)."""
    return tuple(
        WarningView(
            outcome=labels.outcome(result.outcome),
            code=w.code or "data-warning",
            level=w.level or "warning",
            field=w.field,
            value=w.value or "",
            plausible=w.plausible or "",
            message=w.message,
        )
        for result in study.outcome_results
        for w in result.data_warnings
    )


def _field_value(name: str, value: object, labels: Labels) -> str:
    """A field as the page shows it: vocabulary slugs by their names."""
    named = {
        "design": labels.design, "category": labels.category,
        "comparator": labels.comparator, "quality_rating": labels.quality_rating,
    }  # fmt: skip
    return named[name](str(value)) if name in named else str(value)


def study_view(study: StudyRead, etag: str, labels: Labels = PLAIN) -> StudyView:
    """A study's page: its data as reported, the derived effects, its warnings and versions."""
    dump = study.model_dump(mode="json")
    fields = tuple(
        Field(label, _field_value(name, dump[name], labels))
        for name, label in _STUDY_FIELDS
        if dump.get(name) is not None
    )
    history = [
        Link(f"Added in version {study.created_version}", f"/v1/versions/{study.created_version}")
    ]
    if study.valid_from != study.created_version:
        history.append(
            Link(f"This state since version {study.valid_from}", f"/v1/versions/{study.valid_from}")
        )
    history.append(Link("As JSON", f"/v1/studies/{study.id}"))
    return StudyView(
        id=study.id,
        title=study.title,
        label=f"{study.authors.split(',')[0]}, {study.year}",
        status=study.status,
        status_reason=study.status_reason,
        etag=etag,
        fields=fields,
        arms=tuple(
            Field(f"{a.label} ({a.role})", f"{a.n_randomized} randomized") for a in study.arms
        ),
        results=tuple(_result_view(r, labels) for r in study.outcome_results),
        warnings=warning_views(study, labels),
        history=tuple(history),
    )


def version_rows(items: tuple[EvidenceVersionRead, ...]) -> tuple[VersionRow, ...]:
    """The versions page, newest first."""
    return tuple(
        VersionRow(
            number=v.number,
            date=f"{v.created_at:%Y-%m-%d %H:%M} UTC",
            actor=v.actor,
            kind=v.kind,
            summary=v.summary,
            studies=tuple(Link(f"study {i}", f"/studies/{i}") for i in v.study_ids),
        )
        for v in items
    )
