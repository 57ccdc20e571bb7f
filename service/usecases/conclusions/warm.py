"""Warming the result cache after a version is concluded, so the first GET finds it."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from service.db.repositories.conclusions import ConclusionRepository
from service.schemas.pooled import PooledQuery
from service.usecases.judgement.answers import pooled_result
from service.usecases.pooled.cache import ResultCache


def caught_up(session: Session) -> bool:
    """Whether no version waits for the worker (only then is warming worth it)."""
    return not ConclusionRepository(session).waiting(1)


def warm_pooled(session: Session, cache: ResultCache, outcomes: Collection[str]) -> bool:
    """Compute (and cache) the newest default-specification answer of each outcome, unless
    a version waits (then nothing; returns whether it warmed).

    A full answer at 10,000 studies takes about half a second, and concluding the next write
    (its events) comes before warming an answer that write makes stale: call it once per
    outcome, each in a session of its own (a read transaction sees the outbox as it was
    when it began), to stop as soon as a version waits.
    """
    if not caught_up(session):
        return False
    for outcome in sorted(outcomes):
        pooled_result(session, cache, outcome, PooledQuery())
    return True
