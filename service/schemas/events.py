"""Events as the feed serves them and webhooks send them (schema version 1)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from service.schemas.common import NONBLANK_PATTERN, ReadModel, RequestModel
from service.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT, Cursor

EventTypeName = Literal[
    "study.submitted",
    "study.updated",
    "study.included",
    "study.excluded",
    "study.withdrawn",
    "pooled.changed",
    "conclusion.changed",
    "webhook.test",
    "webhook.disabled",
    "candidate.found",
]
MAX_WAIT_SECONDS = 30
# An outcome to filter by: any text but blank (it is stripped first) or NUL, as checked.
OutcomeFilter = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=NONBLANK_PATTERN)
]


class EventRead(ReadModel):
    """One event: the envelope a webhook receives as its body."""

    id: str = Field(description="evt_<number>; also the webhook-id header, the same on retries.")
    type: EventTypeName
    timestamp: str = Field(description="When the change committed (RFC 3339, UTC).")
    schema_version: int
    data: dict[str, Any]


class EventPageRead(ReadModel):
    """Events oldest first; pass ``next_cursor`` back as ``after`` to continue (never skips)."""

    items: list[EventRead]
    next_cursor: str | None = Field(
        description="Null only when the feed is empty for you; otherwise always present."
    )


class EventListQuery(RequestModel):
    """Filters of ``GET /v1/events``."""

    type: list[EventTypeName] = Field(default_factory=list, max_length=10)
    outcome: list[OutcomeFilter] = Field(default_factory=list, max_length=10)
    after: Cursor | None = Field(default=None, description="A page's next_cursor.")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    wait: float = Field(
        default=0,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="Long-poll: wait up to this many seconds for an event when none is new.",
    )
