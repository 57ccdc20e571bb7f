"""The conclusions outbox: one row per evidence version a worker has yet to conclude.

A study write adds its version's row in the write's own transaction (the transactional
outbox): the version, the outcomes it touched, nothing derived. The conclusions worker
(:mod:`service.usecases.conclusions`) claims rows with a lease, computes the pooled answers,
monitoring looks, certainty and events of the version from committed evidence, and marks the
row concluded in the transaction that publishes those events, so each version is concluded
once. A failed attempt is recorded (``attempts``, ``last_error``) and retried at ``retry_at``.

``monitoring_look``: the cumulative analysis of an outcome at a version (one look of its
sequential monitoring), stored by the worker so that monitoring answers read looks instead of
fitting every version again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UtcDateTime


class ConclusionJob(Base):
    """A version waiting for (or given) its conclusions."""

    __tablename__ = "conclusion_job"

    evidence_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    outcomes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    concluded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))


class MonitoringLook(Base):
    """One outcome's cumulative random-effects analysis at one version (a monitoring look)."""

    __tablename__ = "monitoring_look"

    outcome_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    evidence_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    k: Mapped[int] = mapped_column(Integer)
    participants: Mapped[int] = mapped_column(Integer)
    estimate: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
