"""Webhook endpoints, their secrets, delivery attempts and redelivery requests."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, model_validator

from service.schemas.common import ReadModel, RequestModel
from service.schemas.events import EventTypeName, Slug


class WebhookCreate(RequestModel):
    """A new endpoint: where to send, which event types, optionally which outcomes."""

    url: str = Field(min_length=8, max_length=2000, examples=["https://example.org/hooks/lma"])
    event_types: list[EventTypeName] = Field(min_length=1, max_length=20)
    outcomes: list[Slug] | None = Field(default=None, max_length=10)
    description: str | None = Field(default=None, max_length=500)


class WebhookUpdate(RequestModel):
    """Fields to change; omitted ones stay."""

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    event_types: list[EventTypeName] | None = Field(default=None, min_length=1, max_length=20)
    outcomes: list[Slug] | None = Field(default=None, max_length=10)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class WebhookRead(ReadModel):
    """An endpoint (never its secret)."""

    id: int
    url: str
    description: str | None
    event_types: list[str]
    outcomes: list[str] | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    previous_secret_until: datetime | None = Field(
        description="Until when the secret before the last rotation still signs."
    )


class WebhookSecretRead(WebhookRead):
    """An endpoint with its signing secret, shown this once."""

    secret: str = Field(description="whsec_ + base64 of 32 random bytes; shown once.")


class DeliveryAttemptRead(ReadModel):
    """One attempt to deliver one event."""

    id: int
    event_id: str
    event_type: str
    delivery_status: str = Field(description="pending, delivered, or failed (gave up).")
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None = Field(description="The first 2 kB of the answer.")


class TestEventRead(ReadModel):
    event_id: str


class RedeliverRequest(RequestModel):
    """One event (``event_id``) or every event since a time (``since``)."""

    event_id: str | None = Field(default=None, pattern=r"^evt_[1-9][0-9]{0,9}$")
    since: AwareDatetime | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RedeliverRequest:
        if (self.event_id is None) == (self.since is None):
            raise ValueError("give exactly one of event_id and since")
        return self


class RedeliverRead(ReadModel):
    queued: int
