"""Webhook endpoints, their secrets, delivery attempts and redelivery requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from service.schemas.common import FreeText, ReadModel, RequestModel
from service.schemas.events import EventTypeName, OutcomeFilter

# What check_url (service.delivery.targets) demands of its form: an http(s) scheme, a host,
# no credentials. Whether http is allowed and where the host resolves are checked when it is
# stored (422, README "Push: webhooks").
_PORT = (  # 1 to 65535
    r"(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]"
    r"|6553[0-5]))?"
)
_HOST = r"[^\s\x85/?#@\x00\[\]:]+"  # a name or IPv4 (IPv6 literals are not described)
WEBHOOK_URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://{_HOST}{_PORT}(?:[/?#][^\s\x85\x00]*)?$"


class WebhookCreate(RequestModel):
    """A new endpoint: where to send, which event types, optionally which outcomes."""

    url: FreeText = Field(
        min_length=8,
        max_length=2000,
        pattern=WEBHOOK_URL_PATTERN,
        examples=["https://example.org/hooks/lma"],
    )
    event_types: list[EventTypeName] = Field(min_length=1, max_length=20)
    outcomes: list[OutcomeFilter] | None = Field(default=None, max_length=10)
    description: FreeText | None = Field(default=None, max_length=500)


class WebhookUpdate(RequestModel):
    """Fields to change; omitted ones stay."""

    url: FreeText | None = Field(
        default=None, min_length=8, max_length=2000, pattern=WEBHOOK_URL_PATTERN
    )
    event_types: list[EventTypeName] | None = Field(default=None, min_length=1, max_length=20)
    outcomes: list[OutcomeFilter] | None = Field(default=None, max_length=10)
    description: FreeText | None = Field(default=None, max_length=500)
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


def _exactly_one_property(schema: dict[str, Any]) -> None:
    """In the JSON schema: one property, whichever, and not null."""
    schema["minProperties"] = schema["maxProperties"] = 1
    for name, prop in schema.get("properties", {}).items():
        branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            schema["properties"][name] = {**branches[0], "title": prop.get("title", name)}


class RedeliverRequest(RequestModel):
    """One event (``event_id``) or every event since a time (``since``)."""

    # The schema says "exactly one" too: one property, not null (no extra ones are allowed).
    model_config = ConfigDict(json_schema_extra=_exactly_one_property)

    event_id: str | None = Field(default=None, pattern=r"^evt_[1-9][0-9]{0,9}$")
    since: AwareDatetime | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RedeliverRequest:
        if (self.event_id is None) == (self.since is None):
            raise ValueError("give exactly one of event_id and since")
        return self


class RedeliverRead(ReadModel):
    queued: int
