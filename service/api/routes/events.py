"""The event feed: what changed, oldest first, with an optional long-poll."""

from __future__ import annotations

import time
from typing import Annotated

import anyio
from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from service.api.auth import Principal, ReadAccessDep
from service.api.deps import DatabaseDep, SessionDep, SettingsDep, run_and_finish
from service.api.pagination import decode_cursor, encode_cursor
from service.api.summaries import summaries_from_docstrings
from service.db.engine import Database
from service.db.repositories.events import Audience, EventFilters
from service.schemas.common import problem_responses
from service.schemas.events import EventListQuery, EventPageRead, EventRead
from service.usecases.events.feed import EventPage, audience_of, list_events

router = APIRouter(prefix="/v1/events", tags=["events"])
# How often a long-poll looks again; each look is one indexed query.
POLL_SECONDS = 0.25


def _audience(principal: Principal | None) -> Audience:
    if principal is None:
        return Audience()
    return audience_of(principal.key_id, principal.name, principal.scopes)


def _fresh_page(
    database: Database, audience: Audience, filters: EventFilters, after: int, limit: int
) -> EventPage:
    # A new transaction per look: a SQLite read transaction would keep its first snapshot.
    with database.session() as session:
        return list_events(session, audience, filters, after=after, limit=limit)


@router.get("", response_model=EventPageRead, responses=problem_responses(401, 403, 422))
async def list_feed(
    query: Annotated[EventListQuery, Query()],
    session: SessionDep,
    database: DatabaseDep,
    principal: ReadAccessDep,
    settings: SettingsDep,
) -> EventPageRead:
    """Events oldest first, after a cursor; wait= long-polls up to 30 s for the next one."""
    audience = _audience(principal)
    filters = EventFilters(types=tuple(query.type), outcomes=tuple(query.outcome))
    after = decode_cursor(query.after, "after") or 0
    page = await run_and_finish(
        list_events, session, audience, filters, after=after, limit=query.limit
    )
    deadline = time.monotonic() + min(query.wait, settings.events_max_wait_seconds)
    while not page.items and time.monotonic() < deadline:
        await anyio.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))
        page = await run_in_threadpool(_fresh_page, database, audience, filters, after, query.limit)
    cursor = encode_cursor(page.last_id) if page.last_id else None
    items = [EventRead.model_validate(item) for item in page.items]
    return EventPageRead(items=items, next_cursor=cursor)


summaries_from_docstrings(router)
