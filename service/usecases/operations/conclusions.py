"""The conclusions worker's lag and failures, for ``/health`` and operators."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.db.repositories.conclusions import ConclusionRepository
from service.schemas.operations import ConclusionFailureRead, ConclusionsLagRead, ConclusionsRead

FAILURES_SHOWN = 50


def conclusions_lag(session: Session, *, now: datetime | None = None) -> ConclusionsLagRead:
    """How many versions wait for the worker, how long the oldest has, how many fail."""
    backlog = ConclusionRepository(session).backlog()
    now = now or datetime.now(UTC)
    oldest = backlog.oldest_created_at
    return ConclusionsLagRead(
        waiting=backlog.waiting,
        failing=backlog.failing,
        lag_seconds=max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0,
        newest_concluded_version=backlog.newest_concluded,
    )


def lag_if_reachable(session: Session) -> ConclusionsLagRead | None:
    """:func:`conclusions_lag`, or ``None`` when the database does not answer (``/health``
    is liveness: it does not depend on the database; ``/ready`` does)."""
    try:
        return conclusions_lag(session)
    except SQLAlchemyError:
        return None


def conclusions_status(session: Session) -> ConclusionsRead:
    """The lag and the versions whose last attempt failed (oldest first)."""
    failures = [
        ConclusionFailureRead(
            evidence_version=job.evidence_version,
            outcomes=list(job.outcomes),
            attempts=job.attempts,
            last_error=job.last_error,
            retry_at=job.retry_at,
        )
        for job in ConclusionRepository(session).failures(FAILURES_SHOWN)
    ]
    return ConclusionsRead(lag=conclusions_lag(session), failures=failures)
