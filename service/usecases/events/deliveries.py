"""What a delivery worker does to the database: fan-out, each attempt's record, disabling.

Each function runs in the worker's short transaction while the worker holds the endpoint's
lease; the HTTP request itself happens outside any transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.db.models import Webhook
from service.db.repositories.events import EventRepository, FanOutRepository, subscribed
from service.db.repositories.webhooks import LeaseRepository, WebhookRepository
from service.delivery.schedule import DISABLE_AFTER, WINDOW, next_delay, retry_after
from service.delivery.sender import Outcome
from service.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_GIVE_UPS
from service.usecases.events.envelope import EventDraft, EventType
from service.usecases.events.feed import audience_of
from service.usecases.events.outbox import publish_locked
from service.usecases.events.secret_box import SecretBox

FAN_OUT_BATCH = 1000
# The promise: events (and their delivery log) are kept at least 90 days.
RETENTION = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Due:
    """A pending delivery: its row, event and payload."""

    delivery_id: int
    event_id: int
    payload: dict[str, Any]


def fan_out(session: Session, webhook: Webhook, now: datetime) -> int:
    """Queue the events after the endpoint's cursor that it may and wants to receive."""
    newest = EventRepository(session).newest_id()
    if webhook.last_event_id >= newest:
        return 0
    owner = WebhookRepository(session).owner(webhook)
    ids: list[int] = []
    if owner is not None and owner.revoked_at is None:
        audience = audience_of(owner.id, owner.name, owner.scopes)
        condition = subscribed(webhook.event_types, webhook.outcomes, webhook.id)
        ids = list(
            FanOutRepository(session).matching(
                audience, condition, after=webhook.last_event_id, up_to=newest, limit=FAN_OUT_BATCH
            )
        )
    webhook.last_event_id = ids[-1] if len(ids) == FAN_OUT_BATCH else newest
    return WebhookRepository(session).queue(webhook.id, ids, now)


def due(session: Session, webhook_id: int, *, limit: int) -> list[Due]:
    """The endpoint's next pending deliveries, in event order."""
    rows = LeaseRepository(session).pending(webhook_id, limit=limit)
    return [Due(row.id, row.event_id, row.payload) for row in rows]


def active_secrets(webhook: Webhook, now: datetime, box: SecretBox) -> list[str]:
    """The secrets that sign now, decrypted: the current one, and the previous one for 24 h."""
    secrets = [box.open(webhook.secret)]
    until = webhook.previous_secret_until
    if webhook.previous_secret and until is not None and until > now:
        secrets.append(box.open(webhook.previous_secret))
    return secrets


def record_batch(
    session: Session,
    webhook: Webhook,
    attempts: Sequence[tuple[Due, Outcome]],
    now: datetime,
    *,
    max_retry_after: timedelta,
) -> bool:
    """Store attempts made in order; whether the endpoint's next delivery may go.

    Successes are recorded in bulk (one UPDATE and one INSERT for a run of them: per-row
    statements were most of a worker's time on PostgreSQL); a failure, which has consequences
    (a retry time, disabling), one at a time.
    """
    delivered: list[tuple[Due, Outcome]] = []
    for item, outcome in attempts:
        if outcome.delivered:
            delivered.append((item, outcome))
            continue
        record_delivered(session, webhook, delivered, now)
        delivered = []
        if not record_attempt(session, webhook, item, outcome, now, max_retry_after):
            return False
    record_delivered(session, webhook, delivered, now)
    return True


def record_delivered(
    session: Session, webhook: Webhook, attempts: Sequence[tuple[Due, Outcome]], now: datetime
) -> None:
    """Mark still-pending deliveries delivered, with their attempts (others were deleted or
    redelivered meanwhile: nothing to record against)."""
    if not attempts:
        return
    leases = LeaseRepository(session)
    marked = leases.mark_delivered([item.delivery_id for item, _ in attempts], now)
    WEBHOOK_ATTEMPTS.labels(result="delivered").inc(len(marked))
    rows = [
        _attempt_row(webhook, item, outcome, now)
        for item, outcome in attempts
        if item.delivery_id in marked
    ]
    leases.add_attempts(rows)
    webhook.failing_since = webhook.retry_at = None


def record_attempt(
    session: Session,
    webhook: Webhook,
    item: Due,
    outcome: Outcome,
    now: datetime,
    max_retry_after: timedelta,
) -> bool:
    """Store one attempt and its consequence; whether the endpoint's next delivery may go."""
    leases = LeaseRepository(session)
    delivery = leases.delivery(item.delivery_id)
    if delivery is None or delivery.status != "pending":
        return True  # deleted or redelivered meanwhile: nothing to record against
    leases.add_attempts([_attempt_row(webhook, item, outcome, now)])
    if outcome.delivered:
        WEBHOOK_ATTEMPTS.labels(result="delivered").inc()
        delivery.attempts += 1
        delivery.status, delivery.finished_at = "delivered", now
        webhook.failing_since = webhook.retry_at = None
        return True
    webhook.failing_since = webhook.failing_since or now
    if outcome.status_code == 410:
        delivery.attempts += 1
        delivery.status, delivery.finished_at = "failed", now
        disable(session, webhook, "the endpoint answered 410 Gone", now)
        return False
    if now - webhook.failing_since >= DISABLE_AFTER:
        delivery.attempts += 1
        delivery.status, delivery.finished_at = "failed", now
        disable(session, webhook, "every delivery failed for 5 days", now)
        return False
    asked = _asked(outcome, now, max_retry_after)
    if asked is not None and now - leases.first_attempt_at(item.delivery_id) < WINDOW:
        WEBHOOK_ATTEMPTS.labels(result="deferred").inc()
        webhook.retry_at = now + asked  # a deferral: no scheduled attempt used up
        return False
    WEBHOOK_ATTEMPTS.labels(result="failed").inc()
    delivery.attempts += 1
    wait = next_delay(delivery.attempts)
    if wait is None:
        WEBHOOK_GIVE_UPS.inc()
        delivery.status, delivery.finished_at = "failed", now
        return True
    webhook.retry_at = now + (wait if asked is None else asked)
    return False


def _asked(outcome: Outcome, now: datetime, cap: timedelta) -> timedelta | None:
    """The wait a 429 or 503 asked for with ``Retry-After``, capped; None otherwise."""
    if outcome.status_code not in (429, 503):
        return None
    return retry_after(outcome.retry_after, now, cap=cap)


def _attempt_row(webhook: Webhook, item: Due, outcome: Outcome, now: datetime) -> dict[str, Any]:
    return {
        "delivery_id": item.delivery_id,
        "webhook_id": webhook.id,
        "attempted_at": now,
        "status_code": outcome.status_code,
        "duration_ms": outcome.duration_ms,
        "error": outcome.error,
        "response_excerpt": outcome.excerpt,
    }


def refusal(reason: str) -> Outcome:
    """An attempt that could not be made (an unsafe or unresolvable target) is a failure."""
    return Outcome(status_code=None, duration_ms=0, error=f"refused: {reason}"[:500])


def disable(session: Session, webhook: Webhook, reason: str, now: datetime) -> None:
    """Stop delivering to the endpoint and record ``webhook.disabled``."""
    webhook.enabled = False
    webhook.disabled_reason = reason
    webhook.retry_at = None
    webhook.updated_at = now
    data = {"webhook_id": webhook.id, "url": webhook.url, "reason": reason}
    draft = EventDraft(
        type=EventType.WEBHOOK_DISABLED,
        data=data,
        audience="owner",
        owner_key_id=webhook.owner_key_id,
    )
    publish_locked(session, [draft], at=now)


def prune(session: Session, now: datetime) -> int:
    """Delete events older than :data:`RETENTION` with their deliveries; how many."""
    return EventRepository(session).prune(now - RETENTION)
