"""Webhook endpoints (Standard Webhooks v1): subscribe, manage, rotate, test, redeliver."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from service.api.auth import Principal, require_scopes
from service.api.deps import SessionDep, SettingsDep, WriteSessionDep, run_and_finish
from service.api.pagination import decode_cursor, next_page
from service.api.summaries import summaries_from_docstrings
from service.schemas.common import MAX_ID, problem_responses
from service.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT, Cursor, Page
from service.schemas.webhooks import (
    DeliveryAttemptRead,
    RedeliverRead,
    RedeliverRequest,
    TestEventRead,
    WebhookCreate,
    WebhookRead,
    WebhookSecretRead,
    WebhookUpdate,
)
from service.settings import Settings
from service.usecases.events import webhooks
from service.usecases.events.envelope import public_id
from service.usecases.events.secret_box import secret_box
from service.usecases.operations.keys import Scope

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
SubscriberDep = Annotated[Principal, Depends(require_scopes(Scope.SUBSCRIBE))]
WebhookId = Annotated[int, Path(ge=1, le=MAX_ID, description="The webhook's id.")]
PROBLEMS = problem_responses(401, 403, 404, 422)
PageCursor = Annotated[Cursor | None, Query(description="A page's next_cursor.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _owner(principal: Principal) -> webhooks.Owner:
    return webhooks.Owner(principal.key_id, principal.name, principal.scopes)


def _policy(settings: Settings) -> webhooks.UrlPolicy:
    return webhooks.UrlPolicy(
        allow_http=settings.webhooks_allow_http,
        allow_private=settings.webhooks_allow_private_targets,
    )


def _with_secret(created: webhooks.CreatedWebhook) -> WebhookSecretRead:
    read = WebhookRead.model_validate(created.webhook)
    return WebhookSecretRead(**read.model_dump(), secret=created.secret)


@router.post("", status_code=201, response_model=WebhookSecretRead, responses=PROBLEMS)
def create_webhook(
    body: WebhookCreate,
    response: Response,
    session: WriteSessionDep,
    settings: SettingsDep,
    principal: SubscriberDep,
) -> WebhookSecretRead:
    """Subscribe an endpoint; the answer shows its signing secret, this once."""
    fields = body.model_dump()
    box = secret_box(settings)
    created = webhooks.create_webhook(session, _owner(principal), fields, _policy(settings), box)
    response.headers["Location"] = f"/v1/webhooks/{created.webhook.id}"
    return _with_secret(created)


@router.get("", response_model=Page[WebhookRead], responses=PROBLEMS)
async def list_webhooks(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: SubscriberDep,
    cursor: PageCursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[WebhookRead]:
    """Your endpoints (every endpoint for admin keys), by id."""
    rows = await run_and_finish(
        webhooks.list_webhooks,
        session,
        _owner(principal),
        after_id=decode_cursor(cursor) or 0,
        limit=limit + 1,
    )
    items = [WebhookRead.model_validate(row) for row in rows[:limit]]
    position = items[-1].id if len(rows) > limit else None
    return Page[WebhookRead](items=items, next_cursor=next_page(request, response, position))


@router.get("/{webhook_id}", response_model=WebhookRead, responses=PROBLEMS)
def get_webhook(
    webhook_id: WebhookId, session: SessionDep, principal: SubscriberDep
) -> WebhookRead:
    """One endpoint."""
    return WebhookRead.model_validate(webhooks.get_webhook(session, _owner(principal), webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookRead, responses=PROBLEMS)
def update_webhook(
    webhook_id: WebhookId,
    body: WebhookUpdate,
    session: WriteSessionDep,
    settings: SettingsDep,
    principal: SubscriberDep,
) -> WebhookRead:
    """Change the URL, event types, outcomes or description; enable or disable."""
    changes = body.model_dump(exclude_unset=True)
    webhook = webhooks.update_webhook(
        session, _owner(principal), webhook_id, changes, _policy(settings)
    )
    return WebhookRead.model_validate(webhook)


@router.delete("/{webhook_id}", status_code=204, responses=PROBLEMS)
def delete_webhook(
    webhook_id: WebhookId, session: WriteSessionDep, principal: SubscriberDep
) -> Response:
    """Delete the endpoint and its delivery log."""
    webhooks.delete_webhook(session, _owner(principal), webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookSecretRead, responses=PROBLEMS)
def rotate_secret(
    webhook_id: WebhookId,
    session: WriteSessionDep,
    settings: SettingsDep,
    principal: SubscriberDep,
) -> WebhookSecretRead:
    """A new signing secret; the old one keeps signing alongside it for 24 hours."""
    box = secret_box(settings)
    return _with_secret(webhooks.rotate_secret(session, _owner(principal), webhook_id, box))


@router.post(
    "/{webhook_id}/test", status_code=202, response_model=TestEventRead, responses=PROBLEMS
)
def send_test(
    webhook_id: WebhookId, session: WriteSessionDep, principal: SubscriberDep
) -> TestEventRead:
    """Queue a webhook.test event for this endpoint."""
    event_id = webhooks.send_test(session, _owner(principal), webhook_id)
    return TestEventRead(event_id=public_id(event_id))


@router.get(
    "/{webhook_id}/deliveries", response_model=Page[DeliveryAttemptRead], responses=PROBLEMS
)
def list_deliveries(
    webhook_id: WebhookId,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: SubscriberDep,
    cursor: PageCursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DeliveryAttemptRead]:
    """Delivery attempts, newest first: status code, duration, error, the answer's start."""
    views = webhooks.attempts(
        session, _owner(principal), webhook_id, before_id=decode_cursor(cursor), limit=limit + 1
    )
    items = [_attempt_read(view) for view in views[:limit]]
    position = items[-1].id if len(views) > limit else None
    return Page[DeliveryAttemptRead](
        items=items, next_cursor=next_page(request, response, position)
    )


def _attempt_read(view: webhooks.AttemptView) -> DeliveryAttemptRead:
    attempt = view.attempt
    return DeliveryAttemptRead(
        id=attempt.id,
        event_id=public_id(view.event_id),
        event_type=view.event_type,
        delivery_status=view.delivery_status,
        attempted_at=attempt.attempted_at,
        status_code=attempt.status_code,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
        response_excerpt=attempt.response_excerpt,
    )


@router.post(
    "/{webhook_id}/redeliver", status_code=202, response_model=RedeliverRead, responses=PROBLEMS
)
def redeliver(
    webhook_id: WebhookId,
    body: RedeliverRequest,
    session: WriteSessionDep,
    principal: SubscriberDep,
) -> RedeliverRead:
    """Send one event again, or every event since a time, in order."""
    event_id = int(body.event_id.removeprefix("evt_")) if body.event_id else None
    queued = webhooks.redeliver(
        session, _owner(principal), webhook_id, event_id=event_id, since=body.since
    )
    return RedeliverRead(queued=queued)


summaries_from_docstrings(router)
