"""Dual extraction: a second, independent extraction of a study, and its discrepancies.

A ``study_extraction`` is the body a second key extracted (as ``POST /v1/studies`` takes it),
compared field by field with the study as stored (the first extraction). Each difference is an
``extraction_discrepancy``, open until a curator resolves it with the first value, the second,
or a third; a study with an open discrepancy cannot be included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UtcDateTime

DISCREPANCY_STATUSES = ("open", "resolved")
RESOLUTIONS = ("first", "second", "other")


class StudyExtraction(Base):
    """One second extraction of a study by ``actor`` (``first_actor`` made the study)."""

    __tablename__ = "study_extraction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    version_number: Mapped[int] = mapped_column(ForeignKey("evidence_version.number"))
    compared_with_version: Mapped[int] = mapped_column(Integer)
    first_actor: Mapped[str] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # For agreement statistics: how many fields were compared, how many differed, and the
    # (first, second) judgement of every RoB domain both extractions judged.
    compared_fields: Mapped[int] = mapped_column(Integer)
    differing_fields: Mapped[int] = mapped_column(Integer)
    rob_pairs: Mapped[list[list[str]]] = mapped_column(JSON)


class ExtractionDiscrepancy(Base):
    """One field on which the two extractions differ, and how a curator resolved it."""

    __tablename__ = "extraction_discrepancy"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('first', 'second', 'other')", name="resolution"
        ),
        Index("ix_extraction_discrepancy_study_id_status", "study_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extraction_id: Mapped[int] = mapped_column(ForeignKey("study_extraction.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    field: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    first_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    second_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    resolved_version: Mapped[int | None] = mapped_column(ForeignKey("evidence_version.number"))
