"""Webhook endpoints: subscribe, list, change, delete, rotate the secret, test, redeliver.

Secrets are ``whsec_`` + base64 of 32 random bytes (the Standard Webhooks format), shown once
when created or rotated. Unlike API keys they cannot be hashed (signing needs the secret
itself): they are stored encrypted (:mod:`service.usecases.events.secret_box`).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.models import DeliveryAttempt, Webhook
from service.db.repositories.events import EventRepository, FanOutRepository, subscribed
from service.db.repositories.webhooks import WebhookRepository
from service.delivery.targets import UnsafeTargetError, check_url, literal_address_refusal
from service.errors import InvalidInputError, NotFoundError
from service.usecases.events.envelope import EventDraft, EventType
from service.usecases.events.feed import audience_of
from service.usecases.events.outbox import publish_locked
from service.usecases.events.secret_box import SecretBox

ROTATION_OVERLAP = timedelta(hours=24)
MAX_REDELIVERIES = 10_000


@dataclass(frozen=True, slots=True)
class Owner:
    """The key acting on webhooks: its own, or every one with ``admin``."""

    key_id: int
    name: str
    scopes: frozenset[str]

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    allow_http: bool
    allow_private: bool


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    webhook: Webhook
    secret: str


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt: DeliveryAttempt
    event_id: int
    delivery_status: str
    event_type: str


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def checked_url(url: str, policy: UrlPolicy) -> str:
    """``url`` when a webhook may have it; else a 422 naming the field and the rule."""
    try:
        check_url(url, allow_http=policy.allow_http or policy.allow_private)
    except UnsafeTargetError as exc:
        raise _url_error(str(exc)) from exc
    refusal = None if policy.allow_private else literal_address_refusal(url)
    if refusal:
        raise _url_error(
            f"the address is {refusal}; use a public address, or, for a receiver on this "
            "machine or network (development), set WEBHOOKS_ALLOW_PRIVATE_TARGETS=true in the "
            "service's environment and restart it: the setting is read at start-up"
        )
    return url


def _url_error(message: str) -> InvalidInputError:
    return InvalidInputError(
        f"This URL cannot receive webhooks: {message}.",
        errors=[{"field": "url", "message": message, "type": "value_error"}],
    )


def create_webhook(
    session: Session, owner: Owner, fields: dict[str, Any], policy: UrlPolicy, box: SecretBox
) -> CreatedWebhook:
    """A new endpoint that receives events from the next one on."""
    now = utc_now()
    secret = new_secret()
    webhook = Webhook(
        owner_key_id=owner.key_id,
        url=checked_url(fields["url"], policy),
        description=fields.get("description"),
        event_types=list(fields["event_types"]),
        outcomes=list(fields["outcomes"]) if fields.get("outcomes") else None,
        enabled=True,
        secret=box.seal(secret),
        created_at=now,
        updated_at=now,
        last_event_id=EventRepository(session).newest_id(),
    )
    return CreatedWebhook(WebhookRepository(session).add(webhook), secret)


def get_webhook(session: Session, owner: Owner, webhook_id: int) -> Webhook:
    """The endpoint, when ``owner`` may manage it (404 otherwise: no probing of ids)."""
    webhook = WebhookRepository(session).get(webhook_id)
    if webhook is None or not (owner.admin or webhook.owner_key_id == owner.key_id):
        raise NotFoundError(f"There is no webhook {webhook_id}.")
    return webhook


def list_webhooks(
    session: Session, owner: Owner, *, after_id: int, limit: int
) -> Sequence[Webhook]:
    return WebhookRepository(session).page(
        None if owner.admin else owner.key_id, after_id=after_id, limit=limit
    )


def update_webhook(
    session: Session, owner: Owner, webhook_id: int, changes: dict[str, Any], policy: UrlPolicy
) -> Webhook:
    """Change url, types, outcomes, description or enabled; re-enabling clears the failures."""
    webhook = get_webhook(session, owner, webhook_id)
    for required in ("url", "event_types"):
        if required in changes and changes[required] is None:
            raise InvalidInputError(
                f"{required} cannot be null.",
                errors=[{"field": required, "message": "omit it to keep the current value"}],
            )
    if "url" in changes:
        webhook.url = checked_url(changes["url"], policy)
    for name in ("event_types", "outcomes", "description"):
        if name in changes:
            setattr(webhook, name, changes[name] or None)
    if changes.get("enabled") is True and not webhook.enabled:
        webhook.enabled, webhook.disabled_reason = True, None
        webhook.failing_since = webhook.retry_at = None
    elif changes.get("enabled") is False:
        webhook.enabled, webhook.disabled_reason = False, "disabled by its owner"
    webhook.updated_at = utc_now()
    return webhook


def delete_webhook(session: Session, owner: Owner, webhook_id: int) -> None:
    WebhookRepository(session).delete(get_webhook(session, owner, webhook_id))


def rotate_secret(
    session: Session, owner: Owner, webhook_id: int, box: SecretBox
) -> CreatedWebhook:
    """A new secret; the old one signs alongside it for 24 hours."""
    webhook = get_webhook(session, owner, webhook_id)
    now = utc_now()
    secret = new_secret()
    webhook.previous_secret = webhook.secret  # still encrypted
    webhook.previous_secret_until = now + ROTATION_OVERLAP
    webhook.secret = box.seal(secret)
    webhook.updated_at = now
    return CreatedWebhook(webhook, secret)


def send_test(session: Session, owner: Owner, webhook_id: int) -> int:
    """Record a ``webhook.test`` event for this endpoint only; its event id."""
    webhook = get_webhook(session, owner, webhook_id)
    data = {"webhook_id": webhook.id, "message": "A test event, sent on request."}
    draft = EventDraft(
        type=EventType.WEBHOOK_TEST,
        data=data,
        audience="owner",
        owner_key_id=webhook.owner_key_id,
        webhook_id=webhook.id,
    )
    return publish_locked(session, [draft])[0]


def attempts(
    session: Session, owner: Owner, webhook_id: int, *, before_id: int | None, limit: int
) -> list[AttemptView]:
    get_webhook(session, owner, webhook_id)
    rows = WebhookRepository(session).attempts(webhook_id, before_id=before_id, limit=limit)
    return [AttemptView(row[0], row[1], row[2], row[3]) for row in rows]


def redeliver(
    session: Session,
    owner: Owner,
    webhook_id: int,
    *,
    event_id: int | None,
    since: datetime | None,
) -> int:
    """Queue one event, or every event since a time, for this endpoint again."""
    webhook = get_webhook(session, owner, webhook_id)
    key = WebhookRepository(session).owner(webhook)
    if key is None:
        return 0
    audience = audience_of(key.id, key.name, key.scopes)
    condition = subscribed(webhook.event_types, webhook.outcomes, webhook.id)
    if event_id is not None:
        ids = FanOutRepository(session).matching(
            audience,
            condition,
            after=event_id - 1,
            up_to=min(event_id, webhook.last_event_id),
            limit=1,
        )
        if not ids:
            raise NotFoundError(
                f"Webhook {webhook_id} was never sent event evt_{event_id} (not subscribed, "
                "not visible to its key, or not fanned out yet)."
            )
    else:
        assert since is not None
        since_ids = EventRepository(session).ids_since(since, limit=1)
        first = since_ids[0] if since_ids else webhook.last_event_id + 1
        ids = FanOutRepository(session).matching(
            audience,
            condition,
            after=first - 1,
            up_to=webhook.last_event_id,
            limit=MAX_REDELIVERIES,
        )
    return WebhookRepository(session).queue(webhook.id, list(ids), utc_now())
