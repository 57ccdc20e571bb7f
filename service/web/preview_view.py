"""The what-if preview as the curation queue shows it: each cell before and after inclusion.

Built from the :class:`~service.schemas.certainty.PreviewRead` that ``POST /v1/studies/preview``
answers with, so the page prints the very numbers the API gives.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.plots.text import effect_with_interval
from service.schemas.certainty import PreviewCellRead, PreviewRead, PreviewSideRead
from service.usecases.studies.labels import PLAIN, Labels

REASONS = {
    "status": "pooled or not",
    "certainty": "certainty",
    "statement": "statement",
    "significance": "whether the CI excludes no effect",
}


@dataclass(frozen=True, slots=True)
class SideView:
    """One cell before or after: headline, certainty and statement."""

    effect: str
    k: int
    participants: int
    certainty: str | None
    statement: str | None


@dataclass(frozen=True, slots=True)
class PreviewCellView:
    id: str
    outcome: str
    category: str
    before: SideView
    after: SideView
    conclusion_changed: bool
    reasons: str


@dataclass(frozen=True, slots=True)
class PreviewView:
    """What including one pending study would change."""

    study_id: int
    evidence_version: int
    cells: tuple[PreviewCellView, ...]


def _side(side: PreviewSideRead) -> SideView:
    summary = side.summary
    effect = (
        effect_with_interval(summary.estimate, summary.ci_lower, summary.ci_upper)
        if summary.estimate is not None
        else "not pooled"
    )
    return SideView(
        effect=effect,
        k=summary.k,
        participants=summary.participants,
        certainty=Labels.certainty(side.certainty.level) if side.certainty else None,
        statement=side.statement.text if side.statement else None,
    )


def _cell(cell: PreviewCellRead, labels: Labels) -> PreviewCellView:
    category = cell.category or "all"
    return PreviewCellView(
        id=f"preview-{cell.outcome}-{category}",
        outcome=labels.outcome(cell.outcome),
        category=labels.category(cell.category),
        before=_side(cell.before),
        after=_side(cell.after),
        conclusion_changed=cell.conclusion_changed,
        reasons=", ".join(REASONS.get(r, r) for r in cell.reasons),
    )


def preview_view(study_id: int, preview: PreviewRead, labels: Labels = PLAIN) -> PreviewView:
    """The preview of including ``study_id``: one row per outcome and category it changes
    (the API also lists the categories it leaves as they are)."""
    return PreviewView(
        study_id=study_id,
        evidence_version=preview.evidence_version,
        cells=tuple(_cell(c, labels) for c in preview.cells if c.before != c.after),
    )
