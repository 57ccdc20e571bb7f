"""Event types and the envelope every event carries (schema version 1).

The envelope follows the Standard Webhooks payload structure (``type``, ``timestamp``,
``data``) plus ``id`` (also the ``webhook-id`` header) and ``schema_version``. Payloads hold
ids, version numbers, headline numbers and links to the full answers, never whole answers,
so each stays far below :data:`MAX_PAYLOAD_BYTES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1
MAX_PAYLOAD_BYTES = 20_000


class EventType(StrEnum):
    """Every event type, as the feed and webhook subscriptions name them."""

    STUDY_SUBMITTED = "study.submitted"
    STUDY_UPDATED = "study.updated"
    STUDY_INCLUDED = "study.included"
    STUDY_EXCLUDED = "study.excluded"
    STUDY_WITHDRAWN = "study.withdrawn"
    POOLED_CHANGED = "pooled.changed"
    CONCLUSION_CHANGED = "conclusion.changed"
    WEBHOOK_TEST = "webhook.test"
    WEBHOOK_DISABLED = "webhook.disabled"
    CANDIDATE_FOUND = "candidate.found"


STUDY_EVENT_OF_ACTION = {
    "create": EventType.STUDY_SUBMITTED,
    "update": EventType.STUDY_UPDATED,
    "include": EventType.STUDY_INCLUDED,
    "exclude": EventType.STUDY_EXCLUDED,
    "withdraw": EventType.STUDY_WITHDRAWN,
}


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before it has an id: its type, data and the columns the feed filters on."""

    type: EventType
    data: dict[str, Any]
    audience: str = "public"
    evidence_version: int | None = None
    outcome: str | None = None
    study_id: int | None = None
    study_status: str | None = None
    study_submitter: str | None = None
    owner_key_id: int | None = None
    webhook_id: int | None = None


def public_id(event_id: int) -> str:
    """The event's id in payloads and the ``webhook-id`` header (the same on every retry)."""
    return f"evt_{event_id}"


def envelope(event_id: int, draft: EventDraft, at: datetime) -> dict[str, Any]:
    """The payload as sent and served."""
    return {
        "id": public_id(event_id),
        "type": str(draft.type),
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "schema_version": SCHEMA_VERSION,
        "data": draft.data,
    }


def body_of(payload: dict[str, Any]) -> str:
    """The exact JSON text that is signed and sent."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=False)
