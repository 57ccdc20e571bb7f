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

from sqlalchemy import Integer, Select, and_, cast, literal, or_, select, union_all
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

JUDGEMENT_KIND = "judgement"
"""The kind of version a certainty judgement opens (service.usecases.judgement)."""


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
    risk_of_bias: dict[str, Any] | None = None  # the stored assessment (RiskOfBiasCreate)
    # Only with ``evidence(..., reported=True)`` (multi-arm trials combined, issue 29): the data
    # as reported, its form, and whether a cluster design (an ICC) applies to it.
    form: str | None = None
    reported: dict[str, Any] | None = None
    clustered: bool = False

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


def _evidence_query(*, reported: bool = False) -> Select[*tuple[Any, ...]]:
    # Columns in the order of EvidenceRow's fields; the reported data only when asked for (a
    # JSON document a row, which only the multi-arm combination reads).
    intervention, control = aliased(StudyArm), aliased(StudyArm)
    extra = (
        (OutcomeResult.form, OutcomeResult.reported, OutcomeResult.icc.is_not(None))
        if reported
        else ()
    )
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
            OutcomeResult.risk_of_bias,
            *extra,
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
_EVIDENCE_REPORTED = _evidence_query(reported=True)


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
        reported: bool = False,
    ) -> list[EvidenceRow]:
        """Results of included revisions for ``outcomes``.

        ``at_versions``: only revisions valid at any of these versions (one, or a write's
        before and after); ``None``: every included revision that was ever valid (for
        histories). ``study_ids``: only these studies (the ones a few versions changed).
        Each row carries its validity range, so callers can split them. ``reported``: each row
        also carries the data as reported (form, JSON, clustered or not).
        """
        query = (_EVIDENCE_REPORTED if reported else _EVIDENCE).where(
            OutcomeResult.outcome_slug.in_(sorted(outcomes))
        )
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

    def included_changes(self, *, after: int, up_to: int) -> list[tuple[str, int]]:
        """(outcome, version) for each version ``after + 1`` to ``up_to`` that opened or closed
        an included revision with results for that outcome: the versions that changed the
        outcome's included evidence (a pending submission opens none); and each version of a
        certainty judgement of the outcome, which changes its answers too.

        Only the studies those versions changed are looked at (``evidence_change``, indexed).
        """
        in_range = [
            and_(bound > after, bound <= up_to)
            for bound in (StudyRevision.valid_from, StudyRevision.valid_to)
        ]
        query = (
            select(OutcomeResult.outcome_slug, StudyRevision.valid_from, StudyRevision.valid_to)
            .distinct()
            .join(OutcomeResult, OutcomeResult.revision_id == StudyRevision.id)
            .where(StudyRevision.status == "included", or_(*in_range))
        )
        if after > 0:
            changed = select(EvidenceChange.study_id).where(
                EvidenceChange.version_number > after, EvidenceChange.version_number <= up_to
            )
            query = query.where(StudyRevision.study_id.in_(changed))
        found: set[tuple[str, int]] = set()
        for outcome, valid_from, valid_to in self._session.execute(query):
            for bound in (valid_from, valid_to):
                if bound is not None and after < bound <= up_to:
                    found.add((str(outcome), int(bound)))
        return sorted(found | self._judgements(after=after, up_to=up_to))

    def _judgements(self, *, after: int, up_to: int) -> set[tuple[str, int]]:
        # A curator's certainty judgement changes the outcome's answers (their certainty)
        # without changing its evidence: its version counts for the outcome it touched.
        query = (
            select(EvidenceVersionOutcome.outcome_slug, EvidenceVersionOutcome.version_number)
            .join(EvidenceVersion, EvidenceVersion.number == EvidenceVersionOutcome.version_number)
            .where(
                EvidenceVersion.kind == JUDGEMENT_KIND,
                EvidenceVersion.number > after,
                EvidenceVersion.number <= up_to,
            )
        )
        return {(str(outcome), int(number)) for outcome, number in self._session.execute(query)}

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

    def outcome_name(self, outcome: str) -> str | None:
        """The outcome's display name (``None`` for an unknown slug)."""
        query = select(OutcomeTerm.name).where(OutcomeTerm.slug == outcome)
        return self._session.scalars(query).one_or_none()

    def version_created_at(self, number: int) -> datetime | None:
        """When version ``number`` was committed (``None`` for version 0)."""
        query = select(EvidenceVersion.created_at).where(EvidenceVersion.number == number)
        return self._session.scalars(query).one_or_none()

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
