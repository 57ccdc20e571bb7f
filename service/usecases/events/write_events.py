"""The events of one evidence version: one per study changed, and the pooled cells it moved.

Built by the conclusions worker (:mod:`service.usecases.conclusions`) after the version
committed, from committed versions only, and published holding the evidence lock. Cells are
the review's default specification (what ``GET /v1/pooled`` shows) for each touched outcome,
overall and per category; the overall cells reuse the version's ``pooled_changes``, the
category cells filter the same selection.

Reasons that need a pooled answer (``certainty``, ``boundary_crossed``, ``ris_reached``) are
given only when the cell is pooled after the version: a narrative answer (too few studies)
has neither a GRADE level nor a monitoring status worth announcing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from service.db.models import EvidenceVersion
from service.db.repositories.events import EventRepository
from service.db.repositories.pooled import PooledRepository
from service.db.repositories.vocabulary import VocabularyRepository
from service.schemas.pooled_summary import PooledChangeRead, PooledSummaryRead
from service.usecases.events.conclusions import Reason, conclusion_reasons
from service.usecases.events.envelope import STUDY_EVENT_OF_ACTION, EventDraft, EventType
from service.usecases.events.judged_reasons import (
    JudgedVersions,
    carry_looks_forward,
    certainty_reason,
    monitoring_reasons,
)
from service.usecases.events.outbox import publish_locked
from service.usecases.pooled.changes import known_headline, remembered_headline
from service.usecases.pooled.effects import Effects, SelectionMemo, effects_at
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import PooledSpec

Headline = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CellChange:
    """One cell's default-specification headline before and after a write."""

    outcome: str
    category: str | None
    before: Headline
    after: Headline
    judged: tuple[Reason, ...] = ()  # certainty and monitoring reasons (overall cells only)


def version_drafts(
    session: Session,
    version: EvidenceVersion,
    pooled: Sequence[PooledChangeRead],
    selections: SelectionMemo,
    *,
    moved: Collection[str] | None = None,
) -> list[EventDraft]:
    """The version's events (study, pooled and conclusion changes), in feed order.

    ``moved``: :func:`moved_outcomes` of the version, when the caller has it already."""
    drafts = study_drafts(session, version)
    for cell in cell_changes(session, version, pooled, selections, moved=moved):
        drafts.extend(cell_drafts(cell, version.number))
    return drafts


def record_version_events(
    session: Session,
    version: EvidenceVersion,
    pooled: Sequence[PooledChangeRead],
    selections: SelectionMemo,
) -> list[int]:
    """Store the version's events, taking the evidence lock; returns their ids."""
    return publish_locked(
        session, version_drafts(session, version, pooled, selections), at=version.created_at
    )


def study_drafts(session: Session, version: EvidenceVersion) -> list[EventDraft]:
    """One ``study.*`` event per study the version changed, by id."""
    repository = EventRepository(session)
    changed = repository.changed_studies(version.number)
    known = {study_id: version.actor for study_id, action, _ in changed if action == "create"}
    others = [study_id for study_id, _, _ in changed if study_id not in known]
    submitters = {**known, **repository.submitters(others)}
    return [
        _study_draft(version, study_id, action, status, submitters.get(study_id))
        for study_id, action, status in changed
    ]


def _study_draft(
    version: EvidenceVersion, study_id: int, action: str, status: str, submitter: str | None
) -> EventDraft:
    data = {
        "study_id": study_id,
        "status": status,
        "evidence_version": version.number,
        "actor": version.actor,
        "link": f"/v1/studies/{study_id}",
    }
    return EventDraft(
        type=STUDY_EVENT_OF_ACTION[action],
        data=data,
        audience="study",
        evidence_version=version.number,
        study_id=study_id,
        study_status=status,
        study_submitter=submitter,
    )


def moved_outcomes(session: Session, number: int) -> set[str]:
    """The outcomes whose included evidence version ``number`` changed (or judged)."""
    return {
        o for o, _ in PooledRepository(session).included_changes(after=number - 1, up_to=number)
    }


def cell_changes(
    session: Session,
    version: EvidenceVersion,
    pooled: Sequence[PooledChangeRead],
    memo: SelectionMemo,
    *,
    moved: Collection[str] | None = None,
) -> list[CellChange]:
    """Every cell of the touched outcomes whose headline changed, overall cells first."""
    number = version.number
    versions = JudgedVersions.of_write(session, number, version.created_at, memo)
    categories = [c.slug for c in VocabularyRepository(session).categories()]
    changed_here = moved_outcomes(session, number) if moved is None else moved
    cells: list[CellChange] = []
    compared = {change.outcome for change in pooled}
    for outcome in sorted({o.outcome_slug for o in version.outcomes} - compared):
        # Not compared (its evidence stayed): its looks carry over to the next version.
        spec = PooledSpec(outcome=outcome)
        after = effects_at(session, spec, number, memo=memo, min_rank=None)
        carry_looks_forward(spec, versions, after, changed=outcome in changed_here)
    for change in pooled:
        spec = PooledSpec(outcome=change.outcome)
        before = effects_at(session, spec, number - 1, memo=memo, min_rank=None)
        after = effects_at(session, spec, number, memo=memo, min_rank=None)
        overall = _overall(change)
        if overall.before == overall.after:
            carry_looks_forward(spec, versions, after, changed=change.outcome in changed_here)
        cells.append(_judged(session, overall, spec, versions, (before, after)))
        split = (_ByCategory(before), _ByCategory(after))
        cells.extend(_category_cell(memo, change.outcome, c, split, number) for c in categories)
    return [cell for cell in cells if cell.before != cell.after]


def _overall(change: PooledChangeRead) -> CellChange:
    return CellChange(
        outcome=change.outcome,
        category=None,
        before=_plain(change.before),
        after=_plain(change.after),
    )


def _judged(
    session: Session,
    cell: CellChange,
    spec: PooledSpec,
    versions: JudgedVersions,
    effects: tuple[Effects, Effects],
) -> CellChange:
    """The overall cell with its certainty and monitoring reasons, when its headline moved
    and it is pooled after the version (a narrative answer has neither)."""
    if cell.before == cell.after or cell.after.get("status") != "pooled":
        return cell
    certainty = certainty_reason(session, spec, versions, effects, (cell.before, cell.after))
    judged = [certainty] if certainty is not None else []
    judged.extend(monitoring_reasons(session, spec, versions, effects))
    return replace(cell, judged=tuple(judged))


def _plain(summary: PooledSummaryRead) -> Headline:
    fields = set(PooledSummaryRead.model_fields)
    return summary.model_dump(mode="json", include=fields)


class _ByCategory:
    """A side's effects split by category in one pass, when a cell first needs them (the
    conclusions worker filtered ~6,000 effects once per category: 3 passes, now 1)."""

    def __init__(self, every: Effects) -> None:
        self._every = every
        self._split: dict[str, Effects] | None = None

    def of(self, category: str) -> Effects:
        if self._split is None:
            split: dict[str, list[StudyEffect]] = {}
            for effect in self._every:  # study order kept within each category
                split.setdefault(effect.category, []).append(effect)
            self._split = {key: tuple(effects) for key, effects in split.items()}
        return self._split.get(category, ())


def _category_cell(
    memo: SelectionMemo,
    outcome: str,
    category: str,
    effects: tuple[_ByCategory, _ByCategory],
    version: int,
) -> CellChange:
    spec = PooledSpec(outcome=outcome, category=category)

    def cell_headline(every: _ByCategory, at: int) -> Headline:
        fields = known_headline(memo, spec, at)  # before filtering ~6,000 effects again
        if fields is None:
            subset = every.of(category)
            fields = remembered_headline(memo, subset, spec, at, remember=True)  # committed
        return _plain(PooledSummaryRead.model_validate(fields))

    before, after = cell_headline(effects[0], version - 1), cell_headline(effects[1], version)
    return CellChange(outcome, category, before, after)


def _link(outcome: str, category: str | None) -> str:
    base = f"/v1/outcomes/{outcome}/pooled"
    return base if category is None else f"{base}?category={category}"


def cell_drafts(cell: CellChange, version: int) -> list[EventDraft]:
    """``pooled.changed`` for the cell, and ``conclusion.changed`` when a detector fires."""
    data: dict[str, Any] = {
        "outcome": cell.outcome,
        "category": cell.category,
        "evidence_version": version,
        "before": {**cell.before, "evidence_version": version - 1},
        "after": {**cell.after, "evidence_version": version},
        "link": _link(cell.outcome, cell.category),
    }
    drafts = [_public(EventType.POOLED_CHANGED, data, cell.outcome, version)]
    reasons = [*conclusion_reasons(cell.before, cell.after), *cell.judged]
    if reasons:
        concluded = {**data, "reasons": [reason.as_dict() for reason in reasons]}
        drafts.append(_public(EventType.CONCLUSION_CHANGED, concluded, cell.outcome, version))
    return drafts


def _public(kind: EventType, data: dict[str, Any], outcome: str, version: int) -> EventDraft:
    return EventDraft(type=kind, data=data, evidence_version=version, outcome=outcome)
