"""The event outbox, webhook endpoints, their deliveries and every delivery attempt.

``event`` rows are written by the write use cases in the transaction of the change that causes
them (a transactional outbox). Their ids are assigned while the writer holds the evidence
version lock, so they follow commit order and a reader never sees a later id before an
earlier one (see :mod:`service.usecases.events.outbox`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UtcDateTime


class Event(Base):
    """One event: its envelope (``payload``) and the columns the feed filters on.

    ``audience``: ``public`` (pooled and conclusion changes), ``study`` (readable by keys that
    may see the study: curators, admins, its submitter, anyone once it is included) or
    ``owner`` (webhook events: the webhook's owner and admins).
    """

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    evidence_version: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(16))
    study_id: Mapped[int | None] = mapped_column(Integer)
    study_status: Mapped[str | None] = mapped_column(String(16))
    study_submitter: Mapped[str | None] = mapped_column(String(100))
    owner_key_id: Mapped[int | None] = mapped_column(Integer)
    webhook_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Webhook(Base):
    """An endpoint that receives events, signed with its secret (Standard Webhooks v1).

    ``secret`` and ``previous_secret`` are stored encrypted (Fernet tokens): signing needs the
    secret itself, so a hash could not do (:mod:`service.usecases.events.secret_box`).
    ``last_event_id`` is the fan-out cursor: events after it have no delivery row yet.
    ``retry_at`` holds back the endpoint's next attempt (its deliveries go in order);
    ``leased_until``/``lease_owner``: the worker that holds the endpoint, until the lease ends.
    """

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    outcomes: Mapped[list[str] | None] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(400))
    previous_secret: Mapped[str | None] = mapped_column(String(400))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_event_id: Mapped[int] = mapped_column(Integer)
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))


class WebhookDelivery(Base):
    """One event for one endpoint: ``pending`` until ``delivered`` or ``failed`` (gave up)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_delivery_pending", "webhook_id", "status", "event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DeliveryAttempt(Base):
    """One HTTP attempt: its status code (none when no answer came), duration, error, answer."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True
    )
    webhook_id: Mapped[int] = mapped_column(Integer, index=True)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(2048))
