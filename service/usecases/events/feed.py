"""The event feed: oldest first, after a cursor, for what the reader may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.db.repositories.events import Audience, EventFilters, EventRepository
from service.usecases.operations.keys import Scope


@dataclass(frozen=True, slots=True)
class EventPage:
    """Payloads of one page, and the id of the last event in it (``after`` when empty)."""

    items: tuple[dict[str, Any], ...]
    last_id: int


def audience_of(
    key_id: int | None, key_name: str | None, scopes: Sequence[str] | frozenset[str]
) -> Audience:
    """What a key (or no key: ``None``) may read of the feed."""
    admin = Scope.ADMIN in scopes
    return Audience(
        key_id=key_id,
        key_name=key_name,
        all_studies=admin or Scope.CURATE in scopes,
        admin=admin,
    )


def list_events(
    session: Session, audience: Audience, filters: EventFilters, *, after: int, limit: int
) -> EventPage:
    """Up to ``limit`` events after id ``after`` that ``audience`` may read."""
    rows = EventRepository(session).page(audience, filters, after=after, limit=limit)
    last = rows[-1].id if rows else after
    return EventPage(items=tuple(row.payload for row in rows), last_id=last)
