"""The evidence store: studies, their revisions, arms and outcome results, and evidence versions.

A ``study`` row is the stable identity of one trial. Everything descriptive lives in
``study_revision`` rows, each valid over a half-open range of evidence versions
``[valid_from, valid_to)`` (``valid_to`` is NULL for the current revision). Arms and outcome
results belong to a revision and are copied when a new revision is written, so the evidence as
of version V is the plain filter ``valid_from <= V AND (valid_to IS NULL OR valid_to > V)``.

``evidence_head`` holds the newest version number in a single row. Writers lock that row for
the length of their transaction, which serialises them (on PostgreSQL across processes), so
version numbers are gapless and strictly ordered: a rolled-back writer rolls its number back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db.base import Base, UtcDateTime

SLUG = String(64)
STUDY_STATUSES = ("pending", "included", "excluded", "withdrawn")
VERSION_KINDS = (
    "create", "batch", "update", "include", "exclude", "withdraw", "judgement", "extraction",
)  # fmt: skip
CHANGE_ACTIONS = ("create", "update", "include", "exclude", "withdraw")
REPORTED_FORMS = (
    "means",
    "change_scores",
    "t",
    "f",
    "p",
    "effect_se",
    "effect_ci",
    "means_se",
    "mean_difference",
    "ancova",
    "medians",
    "p_bound",
    "dichotomous",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class EvidenceHead(Base):
    """The single row holding the newest evidence version (0 before the first write).

    ``surveillance_version`` counts the writes to candidates (search runs, screening): they
    make no evidence version, but change the ongoing trials pooled answers count (issue 28).
    """

    __tablename__ = "evidence_head"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("version >= 0", name="version_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    surveillance_version: Mapped[int] = mapped_column(Integer, server_default="0")


class EvidenceVersion(Base):
    """One committed write: who, when, what kind, and a short summary."""

    __tablename__ = "evidence_version"
    __table_args__ = (CheckConstraint(_one_of("kind", VERSION_KINDS), name="kind"),)

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(500))
    request_id: Mapped[str | None] = mapped_column(String(128))

    changes: Mapped[list[EvidenceChange]] = relationship(
        lazy="raise", order_by="EvidenceChange.study_id"
    )
    outcomes: Mapped[list[EvidenceVersionOutcome]] = relationship(
        lazy="raise", order_by="EvidenceVersionOutcome.outcome_slug"
    )


class Study(Base):
    """The stable identity of one trial; its content lives in :class:`StudyRevision`."""

    __tablename__ = "study"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_version: Mapped[int] = mapped_column(ForeignKey("evidence_version.number"))


class StudyRevision(Base):
    """A study's content over the versions ``[valid_from, valid_to)``."""

    __tablename__ = "study_revision"
    __table_args__ = (
        UniqueConstraint("study_id", "valid_from", name="uq_study_revision_study_id_valid_from"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        CheckConstraint(_one_of("status", STUDY_STATUSES), name="status"),
        # An included study's reason: why it was included despite an error-level data warning.
        CheckConstraint(
            "(status IN ('excluded', 'withdrawn') AND status_reason IS NOT NULL)"
            " OR (status = 'pending' AND status_reason IS NULL) OR status = 'included'",
            name="status_reason",
        ),
        CheckConstraint("total_randomized >= 4", name="total_randomized"),
        Index("ix_study_revision_study_id_valid_to", "study_id", "valid_to"),
        Index("ix_study_revision_valid_to", "valid_to"),
        # Near-duplicate candidates: the current studies of a few years, narrowed by their
        # registration ids without reading their rows (issue 23, migration 0029).
        Index(
            "ix_study_revision_valid_to_year_registration_id",
            "valid_to",
            "year",
            "registration_id",
        ),
        Index("ix_study_revision_doi", "doi"),
        Index("ix_study_revision_registration_id", "registration_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    valid_from: Mapped[int] = mapped_column(ForeignKey("evidence_version.number"))
    valid_to: Mapped[int | None] = mapped_column(ForeignKey("evidence_version.number"))
    title: Mapped[str] = mapped_column(String(500))
    authors: Mapped[str] = mapped_column(String(2000))
    year: Mapped[int] = mapped_column(Integer)
    doi: Mapped[str | None] = mapped_column(String(255))
    pmid: Mapped[str | None] = mapped_column(String(16))
    registration_id: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(100))
    design_slug: Mapped[str] = mapped_column(ForeignKey("study_design.slug"))
    category_slug: Mapped[str] = mapped_column(ForeignKey("intervention_category.slug"))
    intervention_name: Mapped[str] = mapped_column(String(300))
    intervention_description: Mapped[str | None] = mapped_column(Text)
    comparator_slug: Mapped[str] = mapped_column(ForeignKey("comparator.slug"))
    comparator_description: Mapped[str | None] = mapped_column(Text)
    population: Mapped[str] = mapped_column(Text)
    setting: Mapped[str | None] = mapped_column(String(500))
    total_randomized: Mapped[int] = mapped_column(Integer)
    quality_rating_slug: Mapped[str] = mapped_column(ForeignKey("quality_rating.slug"))
    quality_appraisal: Mapped[str | None] = mapped_column(Text)
    extracted_by: Mapped[str] = mapped_column(String(200))
    source_document: Mapped[str | None] = mapped_column(String(500))
    source_location: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)

    study: Mapped[Study] = relationship(lazy="raise")
    arms: Mapped[list[StudyArm]] = relationship(lazy="raise", order_by="StudyArm.position")
    outcome_results: Mapped[list[OutcomeResult]] = relationship(
        lazy="raise", order_by="OutcomeResult.position"
    )


class StudyArm(Base):
    """One arm of a trial, as of one revision."""

    __tablename__ = "study_arm"
    __table_args__ = (
        UniqueConstraint("revision_id", "label", name="uq_study_arm_revision_id_label"),
        CheckConstraint("role IN ('intervention', 'control')", name="role"),
        CheckConstraint("n_randomized >= 2", name="n_randomized"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("study_revision.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    n_randomized: Mapped[int] = mapped_column(Integer)


class OutcomeResult(Base):
    """One outcome at one time point, comparing two arms: data as reported, and its effect.

    ``reported`` keeps the numbers exactly as the client sent them, in one of the forms of
    ``form``; ``yi``/``vi`` (Hedges' g, positive favours the intervention) are derived from them
    by the engine of ``engine_version`` and can be recomputed at any time.
    """

    __tablename__ = "outcome_result"
    __table_args__ = (
        CheckConstraint(_one_of("form", REPORTED_FORMS), name="form"),
        CheckConstraint("timepoint_label IN ('post', 'follow-up')", name="timepoint_label"),
        CheckConstraint("timepoint_weeks >= 0", name="timepoint_weeks"),
        CheckConstraint("(icc IS NULL) = (mean_cluster_size IS NULL)", name="cluster_pair"),
        CheckConstraint("vi > 0", name="vi_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("study_revision.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    outcome_slug: Mapped[str] = mapped_column(ForeignKey("outcome.slug"))
    instrument_slug: Mapped[str] = mapped_column(ForeignKey("instrument.slug"))
    timepoint_weeks: Mapped[float] = mapped_column(Float)
    timepoint_label: Mapped[str] = mapped_column(String(16))
    intervention_arm_id: Mapped[int] = mapped_column(ForeignKey("study_arm.id"))
    control_arm_id: Mapped[int] = mapped_column(ForeignKey("study_arm.id"))
    form: Mapped[str] = mapped_column(String(16))
    reported: Mapped[dict[str, Any]] = mapped_column(JSON)
    icc: Mapped[float | None] = mapped_column(Float)
    mean_cluster_size: Mapped[float | None] = mapped_column(Float)
    # Null without a cluster design; true when the reported statistic already allows for it.
    reported_accounts_for_clustering: Mapped[bool | None] = mapped_column(Boolean)
    source_location: Mapped[str | None] = mapped_column(String(200))
    yi: Mapped[float] = mapped_column(Float)
    vi: Mapped[float] = mapped_column(Float)
    sign_flipped: Mapped[bool] = mapped_column(Boolean)
    conversion: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(32))
    # True when the effect rests on an approximation (medians, a p bound, a dichotomised scale).
    estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Plausibility warnings ({"field", "message"}); a study with any waits for a curator.
    data_warnings: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    # The result's risk-of-bias assessment as sent (RiskOfBiasCreate); null: not assessed.
    risk_of_bias: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    intervention_arm: Mapped[StudyArm] = relationship(
        lazy="raise", foreign_keys=[intervention_arm_id]
    )
    control_arm: Mapped[StudyArm] = relationship(lazy="raise", foreign_keys=[control_arm_id])


class EvidenceChange(Base):
    """Which studies one version changed, and how."""

    __tablename__ = "evidence_change"
    __table_args__ = (CheckConstraint(_one_of("action", CHANGE_ACTIONS), name="action"),)

    version_number: Mapped[int] = mapped_column(
        ForeignKey("evidence_version.number"), primary_key=True
    )
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), primary_key=True, index=True)
    action: Mapped[str] = mapped_column(String(16))
    changed_fields: Mapped[list[str]] = mapped_column(JSON)


class EvidenceVersionOutcome(Base):
    """The outcomes a version touched, so that "which versions changed outcome X" is indexed."""

    __tablename__ = "evidence_version_outcome"

    version_number: Mapped[int] = mapped_column(
        ForeignKey("evidence_version.number"), primary_key=True
    )
    outcome_slug: Mapped[str] = mapped_column(
        ForeignKey("outcome.slug"), primary_key=True, index=True
    )


class AuditEntry(Base):
    """One write to one resource, with its state before and after (JSON, as the API shows it)."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_resource", "resource_type", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_number: Mapped[int] = mapped_column(ForeignKey("evidence_version.number"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
