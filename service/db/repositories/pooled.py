"""Reads for pooled results: the evidence of some outcomes, at one version or across all of them.

Every pooled answer comes from one query (:meth:`PooledRepository.evidence`): included study
revisions joined to their outcome results, the two arms each result compares and the design and
quality vocabulary. Selection and statistics happen in Python on these flat rows, never with a
query per study.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, cast, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from service.db.models import (
    Comparator,
    EvidenceChange,
    EvidenceVersion,
    EvidenceVersionOutcome,
    InterventionCategory,
    OutcomeResult,
    QualityRating,
    StudyArm,
    StudyDesign,
    StudyRevision,
)
from service.db.models import Outcome as OutcomeTerm
from service.db.repositories.studies import valid_at


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """One outcome result of one included study revision, with what selection needs."""

    revision_id: int
    study_id: int
    valid_from: int
    valid_to: int | None
    authors: str
    year: int
    category: str
    design: str
    randomized: bool
    comparator: str
    quality_rating: str
    quality_rank: int
    outcome: str
    position: int
    instrument: str
    timepoint_weeks: float
    timepoint_label: str
    yi: float
    vi: float
    sign_flipped: bool
    intervention_arm_id: int
    n_intervention: int
    control_arm_id: int
    n_control: int
    data_warnings: tuple[dict[str, str], ...] = ()

    def __post_init__(self) -> None:
        # The column is a JSON list; kept as a tuple like the other immutable fields.
        object.__setattr__(self, "data_warnings", tuple(self.data_warnings or ()))


@dataclass(frozen=True, slots=True)
class VocabularyTerm:
    """A slug of one vocabulary table; ``number`` is a design's randomized flag or a rank."""

    kind: str
    slug: str
    number: int


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """What a point of an outcome's history says about its version."""

    number: int
    created_at: datetime
    kind: str
    summary: str


def _evidence_query() -> Select[*tuple[Any, ...]]:
    # Columns in the order of EvidenceRow's fields.
    intervention, control = aliased(StudyArm), aliased(StudyArm)
    return (
        select(
            StudyRevision.id,
            StudyRevision.study_id,
            StudyRevision.valid_from,
            StudyRevision.valid_to,
            StudyRevision.authors,
            StudyRevision.year,
            StudyRevision.category_slug,
            StudyRevision.design_slug,
            StudyDesign.randomized,
            StudyRevision.comparator_slug,
            StudyRevision.quality_rating_slug,
            QualityRating.rank,
            OutcomeResult.outcome_slug,
            OutcomeResult.position,
            OutcomeResult.instrument_slug,
            OutcomeResult.timepoint_weeks,
            OutcomeResult.timepoint_label,
            OutcomeResult.yi,
            OutcomeResult.vi,
            OutcomeResult.sign_flipped,
            intervention.id,
            intervention.n_randomized,
            control.id,
            control.n_randomized,
            OutcomeResult.data_warnings,
        )
        .join(OutcomeResult, OutcomeResult.revision_id == StudyRevision.id)
        .join(intervention, intervention.id == OutcomeResult.intervention_arm_id)
        .join(control, control.id == OutcomeResult.control_arm_id)
        .join(StudyDesign, StudyDesign.slug == StudyRevision.design_slug)
        .join(QualityRating, QualityRating.slug == StudyRevision.quality_rating_slug)
        .where(StudyRevision.status == "included")
        .order_by(StudyRevision.study_id, StudyRevision.valid_from, OutcomeResult.position)
    )


# Built once: constructing the statement (aliases, joins) costs more than running it.
_EVIDENCE = _evidence_query()


class PooledRepository:
    """The evidence, vocabulary and version lookups of the pooled-results endpoints."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def evidence(
        self,
        outcomes: Collection[str],
        *,
        at_versions: Collection[int] | None,
        study_ids: Collection[int] | None = None,
    ) -> list[EvidenceRow]:
        """Results of included revisions for ``outcomes``.

        ``at_versions``: only revisions valid at any of these versions (one, or a write's
        before and after); ``None``: every included revision that was ever valid (for
        histories). ``study_ids``: only these studies (the ones a few versions changed).
        Each row carries its validity range, so callers can split them.
        """
        query = _EVIDENCE.where(OutcomeResult.outcome_slug.in_(sorted(outcomes)))
        if at_versions is not None:
            query = query.where(or_(*(valid_at(version) for version in sorted(at_versions))))
        if study_ids is not None:
            if not study_ids:
                return []
            query = query.where(StudyRevision.study_id.in_(sorted(study_ids)))
        return [EvidenceRow(*row) for row in self._session.execute(query)]

    def studies_changed(self, *, after: int, up_to: int) -> set[int]:
        """The studies that versions ``after + 1`` to ``up_to`` changed in any way."""
        query = select(EvidenceChange.study_id).where(
            EvidenceChange.version_number > after, EvidenceChange.version_number <= up_to
        )
        return set(self._session.scalars(query))

    def vocabulary(self) -> list[VocabularyTerm]:
        """Every outcome, category, design, comparator and quality rating, in one query."""
        parts = [
            select(literal("outcome"), OutcomeTerm.slug, OutcomeTerm.position),
            select(literal("category"), InterventionCategory.slug, InterventionCategory.position),
            select(literal("design"), StudyDesign.slug, cast(StudyDesign.randomized, Integer)),
            select(literal("comparator"), Comparator.slug, Comparator.position),
            select(literal("quality"), QualityRating.slug, QualityRating.rank),
        ]
        rows = self._session.execute(union_all(*parts))
        return [VocabularyTerm(str(kind), str(slug), int(number)) for kind, slug, number in rows]

    def versions_touching(self, outcome: str, *, up_to: int) -> Sequence[VersionInfo]:
        """The versions up to ``up_to`` that touched ``outcome``, oldest first."""
        query = (
            select(
                EvidenceVersion.number,
                EvidenceVersion.created_at,
                EvidenceVersion.kind,
                EvidenceVersion.summary,
            )
            .join(
                EvidenceVersionOutcome,
                EvidenceVersionOutcome.version_number == EvidenceVersion.number,
            )
            .where(EvidenceVersionOutcome.outcome_slug == outcome, EvidenceVersion.number <= up_to)
            .order_by(EvidenceVersion.number)
        )
        return [VersionInfo(*row) for row in self._session.execute(query)]
