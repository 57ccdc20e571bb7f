"""The transactional outbox: events written in the transaction of the change that causes them.

Ids follow commit order: every event writer holds the evidence version lock (study writes
already do; webhook events take it), and ids are the next integers after the newest, taken
under that lock. So ids are gapless, a rolled-back write returns its ids with its rows, and
no reader can see id n+1 before id n has committed. On PostgreSQL the same transaction
notifies the delivery workers, who wake when it commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.repositories.events import EventRepository
from service.usecases.events.envelope import MAX_PAYLOAD_BYTES, EventDraft, body_of, envelope
from service.usecases.studies.evidence import lock_evidence


def publish(
    session: Session, drafts: Sequence[EventDraft], *, at: datetime | None = None
) -> list[int]:
    """Store ``drafts`` as events; the caller holds the evidence lock. Returns their ids."""
    if not drafts:
        return []
    at = at or utc_now()
    repository = EventRepository(session)
    first = repository.newest_id() + 1
    rows = [_row(first + offset, draft, at) for offset, draft in enumerate(drafts)]
    repository.insert_all(rows)
    repository.announce()
    return list(range(first, first + len(rows)))


def publish_locked(
    session: Session, drafts: Sequence[EventDraft], *, at: datetime | None = None
) -> list[int]:
    """:func:`publish` for writers that do not hold the evidence lock yet (webhook events)."""
    lock_evidence(session)
    return publish(session, drafts, at=at)


def _row(event_id: int, draft: EventDraft, at: datetime) -> dict[str, object]:
    payload = envelope(event_id, draft, at)
    size = len(body_of(payload).encode())
    if size >= MAX_PAYLOAD_BYTES:  # a bug in a payload builder, never user input
        raise ValueError(f"event {draft.type} would be {size} bytes")
    return {
        "id": event_id,
        "type": str(draft.type),
        "created_at": at,
        "evidence_version": draft.evidence_version,
        "outcome": draft.outcome,
        "audience": draft.audience,
        "study_id": draft.study_id,
        "study_status": draft.study_status,
        "study_submitter": draft.study_submitter,
        "owner_key_id": draft.owner_key_id,
        "webhook_id": draft.webhook_id,
        "payload": payload,
    }
