"""Webhook endpoints, their deliveries and attempts; the workers' claims and leases.

Claims: PostgreSQL locks candidate rows with ``FOR UPDATE SKIP LOCKED`` (as procrastinate's
``procrastinate_fetch_job`` does), so concurrent workers take disjoint endpoints without
waiting; SQLite has no row locks (SQLAlchemy ignores ``with_for_update`` there) and
serialises writers, so one guarded ``UPDATE ... RETURNING`` claims. Either way the lease
(``leased_until``) is what another worker honours, and reclaims once it has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from service.db.models import ApiKey, DeliveryAttempt, Event, Webhook, WebhookDelivery


def _claimable(now: datetime) -> ColumnElement[bool]:
    pending = exists().where(
        WebhookDelivery.webhook_id == Webhook.id, WebhookDelivery.status == "pending"
    )
    newest = select(func.coalesce(func.max(Event.id), 0)).scalar_subquery()
    return and_(
        Webhook.enabled.is_(True),
        or_(Webhook.leased_until.is_(None), Webhook.leased_until < now),
        or_(Webhook.retry_at.is_(None), Webhook.retry_at <= now),
        or_(Webhook.last_event_id < newest, pending),
    )


class WebhookRepository:
    """Endpoints by id and owner."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, webhook: Webhook) -> Webhook:
        self._session.add(webhook)
        self._session.flush()
        return webhook

    def get(self, webhook_id: int) -> Webhook | None:
        return self._session.get(Webhook, webhook_id)

    def delete(self, webhook: Webhook) -> None:
        self._session.delete(webhook)
        self._session.flush()

    def page(self, owner_key_id: int | None, *, after_id: int, limit: int) -> Sequence[Webhook]:
        """Endpoints by id (``owner_key_id`` None: everyone's)."""
        query = select(Webhook).where(Webhook.id > after_id)
        if owner_key_id is not None:
            query = query.where(Webhook.owner_key_id == owner_key_id)
        return self._session.scalars(query.order_by(Webhook.id).limit(limit)).all()

    def owner(self, webhook: Webhook) -> ApiKey | None:
        return self._session.get(ApiKey, webhook.owner_key_id)

    def queue(self, webhook_id: int, event_ids: Sequence[int], now: datetime) -> int:
        """Make each event a pending delivery again, or a new one. Returns how many."""
        if not event_ids:
            return 0
        existing = set(
            self._session.scalars(
                select(WebhookDelivery.event_id).where(
                    WebhookDelivery.webhook_id == webhook_id,
                    WebhookDelivery.event_id.in_(event_ids),
                )
            )
        )
        if existing:
            self._session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.webhook_id == webhook_id,
                    WebhookDelivery.event_id.in_(existing),
                )
                .values(status="pending", attempts=0, finished_at=None)
            )
        fresh = [
            {
                "webhook_id": webhook_id,
                "event_id": e,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
            }
            for e in event_ids
            if e not in existing
        ]
        if fresh:
            self._session.execute(insert(WebhookDelivery), fresh)
        return len(event_ids)

    def attempts(self, webhook_id: int, *, before_id: int | None, limit: int) -> Sequence[Any]:
        """Attempts, newest first, with their delivery's event and status."""
        query = (
            select(DeliveryAttempt, WebhookDelivery.event_id, WebhookDelivery.status, Event.type)
            .join(WebhookDelivery, WebhookDelivery.id == DeliveryAttempt.delivery_id)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(DeliveryAttempt.webhook_id == webhook_id)
        )
        if before_id is not None:
            query = query.where(DeliveryAttempt.id < before_id)
        return self._session.execute(query.order_by(DeliveryAttempt.id.desc()).limit(limit)).all()


class LeaseRepository:
    """What delivery workers claim, hold and give back."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def any_due(self, now: datetime) -> bool:
        """Whether some endpoint could be claimed (a read: an idle worker writes nothing)."""
        query = select(Webhook.id).where(_claimable(now)).limit(1)
        return self._session.execute(query).first() is not None

    def claim(self, owner: str, now: datetime, until: datetime, *, limit: int) -> list[int]:
        """Lease up to ``limit`` due endpoints to ``owner``; their ids."""
        candidates = select(Webhook.id).where(_claimable(now)).order_by(Webhook.id).limit(limit)
        if self._session.get_bind().dialect.name == "postgresql":
            ids = list(self._session.scalars(candidates.with_for_update(skip_locked=True)))
            if not ids:
                return []
            guard: ColumnElement[bool] = Webhook.id.in_(ids)
        else:
            inner = candidates.correlate(None).scalar_subquery()
            guard = and_(Webhook.id.in_(inner), _claimable(now))
        statement = (
            update(Webhook)
            .where(guard)
            .values(lease_owner=owner, leased_until=until)
            .returning(Webhook.id)
        )
        return sorted(self._session.scalars(statement))

    def held(self, webhook_id: int, owner: str, *, renew_until: datetime) -> Webhook | None:
        """The endpoint while ``owner`` still holds it, its lease renewed; else None."""
        statement = (
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.lease_owner == owner)
            .values(leased_until=renew_until)
            .returning(Webhook)
            .execution_options(populate_existing=True)
        )
        return self._session.scalars(statement).first()

    def release(self, webhook_id: int, owner: str) -> None:
        self._session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.lease_owner == owner)
            .values(lease_owner=None, leased_until=None)
        )

    def pending(self, webhook_id: int, *, limit: int) -> Sequence[Any]:
        """The endpoint's next pending deliveries in event order, with their payloads."""
        query = (
            select(WebhookDelivery.id, WebhookDelivery.event_id, Event.payload)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.event_id)
            .limit(limit)
        )
        return self._session.execute(query).all()

    def delivery(self, delivery_id: int) -> WebhookDelivery | None:
        return self._session.get(WebhookDelivery, delivery_id)

    def mark_delivered(self, delivery_ids: Sequence[int], now: datetime) -> set[int]:
        """Mark those of ``delivery_ids`` still pending delivered (one more attempt); which."""
        statement = (
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.status == "pending")
            .values(status="delivered", finished_at=now, attempts=WebhookDelivery.attempts + 1)
            .returning(WebhookDelivery.id)
            .execution_options(synchronize_session=False)
        )
        return set(self._session.scalars(statement))

    def pending_count(self) -> int:
        """Deliveries of enabled endpoints still to be delivered or given up."""
        query = (
            select(func.count())
            .select_from(WebhookDelivery)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.status == "pending", Webhook.enabled.is_(True))
        )
        return int(self._session.scalar(query) or 0)

    def first_attempt_at(self, delivery_id: int) -> datetime:
        """When the delivery was first attempted (it has been, when this is asked)."""
        first = self._session.scalar(
            select(func.min(DeliveryAttempt.attempted_at)).where(
                DeliveryAttempt.delivery_id == delivery_id
            )
        )
        if first is None:
            raise LookupError(f"delivery {delivery_id} has no attempt")
        return first

    def add_attempts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert attempt rows (one multi-row INSERT)."""
        if rows:
            self._session.execute(insert(DeliveryAttempt), list(rows))
