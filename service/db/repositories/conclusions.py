"""The conclusions outbox: enqueue a version, claim it with a lease, conclude or fail it.

Claims are optimistic (a conditional ``UPDATE`` that succeeds for one worker only), which
works alike on SQLite and PostgreSQL: two workers may read the same candidates, but only one
takes the lease of each (the pattern of procrastinate's claim, with the row check done by the
``WHERE`` of the update instead of ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from service.db.models import ConclusionJob, MonitoringLook


@dataclass(frozen=True, slots=True)
class Backlog:
    """How far the worker is behind: versions waiting, the oldest one's age, failures."""

    waiting: int
    oldest_created_at: datetime | None
    failing: int
    newest_concluded: int | None


@dataclass(frozen=True, slots=True)
class Look:
    """One stored cumulative analysis."""

    version: int
    k: int
    participants: int
    estimate: float | None
    se: float | None


def _rowcount(result: object) -> int:
    count = getattr(result, "rowcount", 0)
    return int(count)


class ConclusionRepository:
    """Rows of ``conclusion_job`` and ``monitoring_look``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def enqueue(self, version: int, outcomes: Sequence[str], at: datetime) -> None:
        """Add the version's row (in the write's transaction)."""
        self._session.execute(
            insert(ConclusionJob).values(
                evidence_version=version, outcomes=list(outcomes), created_at=at, attempts=0
            )
        )

    def waiting(self, limit: int) -> list[ConclusionJob]:
        """Versions not concluded yet, oldest first."""
        query = (
            select(ConclusionJob)
            .where(ConclusionJob.concluded_at.is_(None))
            .order_by(ConclusionJob.evidence_version)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def claim(self, version: int, owner: str, now: datetime, until: datetime) -> bool:
        """Take the lease of ``version`` unless it is concluded, leased or waiting to retry."""
        statement = (
            update(ConclusionJob)
            .where(
                ConclusionJob.evidence_version == version,
                ConclusionJob.concluded_at.is_(None),
                or_(ConclusionJob.leased_until.is_(None), ConclusionJob.leased_until < now),
                or_(ConclusionJob.retry_at.is_(None), ConclusionJob.retry_at <= now),
            )
            .values(leased_until=until, lease_owner=owner)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self._session.execute(statement)) == 1

    def conclude(self, version: int, owner: str, now: datetime) -> bool:
        """Mark ``version`` concluded if ``owner`` still holds its lease."""
        statement = (
            update(ConclusionJob)
            .where(
                ConclusionJob.evidence_version == version,
                ConclusionJob.concluded_at.is_(None),
                ConclusionJob.lease_owner == owner,
            )
            .values(concluded_at=now, leased_until=None, lease_owner=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self._session.execute(statement)) == 1

    def fail(self, version: int, owner: str, error: str, retry_at: datetime) -> None:
        """Record a failed attempt and when to try again; release the lease."""
        statement = (
            update(ConclusionJob)
            .where(ConclusionJob.evidence_version == version, ConclusionJob.lease_owner == owner)
            .values(
                attempts=ConclusionJob.attempts + 1,
                last_error=error[:2000],
                retry_at=retry_at,
                leased_until=None,
                lease_owner=None,
            )
            .execution_options(synchronize_session=False)
        )
        self._session.execute(statement)

    def release(self, versions: Sequence[int], owner: str) -> None:
        """Give back the leases of ``versions`` held by ``owner``, untouched (not attempted)."""
        statement = (
            update(ConclusionJob)
            .where(
                ConclusionJob.evidence_version.in_(list(versions)),
                ConclusionJob.lease_owner == owner,
            )
            .values(leased_until=None, lease_owner=None)
            .execution_options(synchronize_session=False)
        )
        self._session.execute(statement)

    def attempts(self, version: int) -> int:
        """How many attempts to conclude ``version`` failed so far."""
        found = self._session.scalar(
            select(ConclusionJob.attempts).where(ConclusionJob.evidence_version == version)
        )
        return int(found or 0)

    def pending_for(self, outcome: str | None, up_to: int, *, only: int | None = None) -> bool:
        """Whether a version up to ``up_to`` (touching ``outcome``, if given; version
        ``only``, if given) waits for the worker."""
        query = select(ConclusionJob.evidence_version, ConclusionJob.outcomes).where(
            ConclusionJob.concluded_at.is_(None), ConclusionJob.evidence_version <= up_to
        )
        if only is not None:
            query = query.where(ConclusionJob.evidence_version == only)
        rows = self._session.execute(query).all()
        return any(outcome is None or outcome in row.outcomes for row in rows)

    def backlog(self) -> Backlog:
        """The worker's lag, for ``/health`` and the operations endpoint."""
        waiting = and_(ConclusionJob.concluded_at.is_(None))
        count, oldest = self._session.execute(
            select(func.count(), func.min(ConclusionJob.created_at)).where(waiting)
        ).one()
        failing = self._session.scalar(
            select(func.count()).where(waiting, ConclusionJob.attempts > 0)
        )
        newest = self._session.scalar(
            select(func.max(ConclusionJob.evidence_version)).where(
                ConclusionJob.concluded_at.is_not(None)
            )
        )
        return Backlog(int(count), oldest, int(failing or 0), newest)

    def failures(self, limit: int) -> list[ConclusionJob]:
        """Versions whose last attempt failed, oldest first."""
        query = (
            select(ConclusionJob)
            .where(ConclusionJob.concluded_at.is_(None), ConclusionJob.attempts > 0)
            .order_by(ConclusionJob.evidence_version)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    # --- monitoring looks -------------------------------------------------------------

    def looks(self, outcome: str, *, up_to: int) -> list[Look]:
        """The stored looks of ``outcome`` up to version ``up_to``, oldest first."""
        query = (
            select(MonitoringLook)
            .where(
                MonitoringLook.outcome_slug == outcome,
                MonitoringLook.evidence_version <= up_to,
            )
            .order_by(MonitoringLook.evidence_version)
        )
        return [
            Look(r.evidence_version, r.k, r.participants, r.estimate, r.se)
            for r in self._session.scalars(query)
        ]

    def has_looks(self, outcome: str) -> bool:
        """Whether any look of ``outcome`` is stored."""
        query = select(MonitoringLook.evidence_version).where(
            MonitoringLook.outcome_slug == outcome
        )
        return self._session.execute(query.limit(1)).first() is not None

    def store_looks(self, outcome: str, looks: Sequence[Look]) -> None:
        """Store ``looks`` of ``outcome``, replacing any stored for the same versions."""
        if not looks:
            return
        versions = [look.version for look in looks]
        self._session.execute(
            delete(MonitoringLook).where(
                MonitoringLook.outcome_slug == outcome,
                MonitoringLook.evidence_version.in_(versions),
            )
        )
        self._session.execute(
            insert(MonitoringLook),
            [
                {
                    "outcome_slug": outcome,
                    "evidence_version": look.version,
                    "k": look.k,
                    "participants": look.participants,
                    "estimate": look.estimate,
                    "se": look.se,
                }
                for look in looks
            ],
        )
