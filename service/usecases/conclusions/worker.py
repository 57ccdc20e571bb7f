"""The conclusions worker: consumes the outbox of versions, in version order, after commit.

A study write records its version and one ``conclusion_job`` row and answers
(:mod:`service.usecases.studies.outbox`). This worker then, per version:

1. claims it with a lease (:meth:`.ConclusionRepository.claim`, a conditional ``UPDATE``
   that one worker wins; procrastinate's claim does the same with ``FOR UPDATE SKIP
   LOCKED``). A version waits while an earlier version touching one of its outcomes is not
   concluded, so each outcome's events keep version order; versions of other outcomes go
   on (a failing version never blocks them);
2. computes, in a read session and from committed versions only, the version's pooled
   changes (warming the selection memo), each touched outcome's monitoring look, certainty,
   and its events (:mod:`.version`);
3. stores the events (taking the evidence lock, so event ids follow commit order), the looks
   and the mark that the version is concluded in one short write transaction, only while it
   still holds the lease: a version is concluded once, and a worker killed at any point
   leaves either everything or nothing (its lease expires and another worker redoes it);
4. on an error, records the attempt (``attempts``, ``last_error``) and retries after an
   exponential backoff; a database outage backs the loop off the same way.

It runs in the API process (a thread; ``CONCLUSIONS_IN_API``) or beside webhook delivery in
``lma worker``; several workers share the outbox safely.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from service.db.models import ConclusionJob
from service.db.repositories.conclusions import ConclusionRepository
from service.usecases.conclusions.version import Concluded, conclude_version
from service.usecases.events.outbox import publish_locked
from service.usecases.judgement.looks import store_looks
from service.usecases.pooled.effects import SelectionMemo

logger = logging.getLogger(__name__)
Sessions = Callable[[], AbstractContextManager[Session]]
CANDIDATES = 500  # waiting versions looked at per claim
MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class WorkerTiming:
    """The worker's lease, its idle polling and its first retry delay (seconds)."""

    lease: float = 60.0
    poll: float = 0.5
    retry: float = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    """A name unique to this worker (host, process, random suffix)."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def backoff(attempts: int, first: float) -> float:
    """The delay before retry number ``attempts`` (1, 2, ...): doubling, at most 5 minutes."""
    return float(min(first * 2.0 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def _due(job: ConclusionJob, now: datetime) -> bool:
    leased = job.leased_until is not None and job.leased_until >= now
    waiting = job.retry_at is not None and job.retry_at > now
    return not leased and not waiting


class LeaseLostError(Exception):
    """The worker's lease ended before it stored the version (another worker redoes it)."""


class ConclusionsWorker:
    """Concludes waiting versions; ``read``/``write`` open a session each (committing at the
    end, rolling back on error), so that a test can run it inside its own transaction."""

    def __init__(
        self,
        read: Sessions,
        write: Sessions,
        *,
        memo: SelectionMemo | None = None,
        timing: WorkerTiming = WorkerTiming(),
        name: str | None = None,
        after_conclusion: Callable[[int, tuple[str, ...]], None] | None = None,
    ) -> None:
        self._read = read
        self._write = write
        self.memo = memo if memo is not None else SelectionMemo()
        self.timing = timing
        self.name = name or worker_name()
        self._after = after_conclusion
        self._wake = threading.Event()
        self.clock: Callable[[], datetime] = _now  # tests move it forward

    # --- one version ----------------------------------------------------------------

    def _claim(self) -> tuple[int, tuple[str, ...]] | None:
        """Take the lease of the oldest version that may be concluded now."""
        with self._read() as session:  # idle polls take no write lock (SQLite has one)
            if not ConclusionRepository(session).waiting(1):
                return None
        now = self.clock()
        until = now + timedelta(seconds=self.timing.lease)
        with self._write() as session:
            repository = ConclusionRepository(session)
            blocked: set[str] = set()
            for job in repository.waiting(CANDIDATES):
                outcomes = set(job.outcomes)
                free = _due(job, now) and not outcomes & blocked
                if free and repository.claim(job.evidence_version, self.name, now, until):
                    return job.evidence_version, tuple(job.outcomes)
                blocked |= outcomes
        return None

    def _store(self, concluded: Concluded) -> None:
        with self._write() as session:
            publish_locked(session, concluded.drafts, at=concluded.created_at)
            for update in concluded.looks:
                store_looks(session, update)
            if not ConclusionRepository(session).conclude(
                concluded.version, self.name, self.clock()
            ):
                raise LeaseLostError(concluded.version)  # rolls the events back too

    def _fail(self, version: int, error: BaseException) -> None:
        with self._write() as session:
            repository = ConclusionRepository(session)
            delay = backoff(repository.attempts(version) + 1, self.timing.retry)
            retry_at = self.clock() + timedelta(seconds=delay)
            repository.fail(version, self.name, repr(error), retry_at)

    def conclude_next(self) -> int | None:
        """Conclude one waiting version; returns its number, or ``None`` when none is due.

        An error while computing is recorded against the version (retried later) and
        returned as concluded-for-now, so the caller moves on to other versions.
        """
        claimed = self._claim()
        if claimed is None:
            return None
        version, outcomes = claimed
        try:
            with self._read() as session:
                concluded = conclude_version(session, version, self.memo)
            self._store(concluded)
        except LeaseLostError:
            logger.warning(
                "the lease of evidence version %s expired; another worker has it", version
            )
            return version
        except Exception as error:
            logger.exception("concluding evidence version %s failed", version)
            self._fail(version, error)
            return version
        if self._after is not None:
            self._after(version, outcomes)
        return version

    def drain(self, limit: int | None = None) -> list[int]:
        """Conclude versions until none is due (or ``limit`` of them); their numbers.

        A version that fails is tried once per drain, whatever its retry delay.
        """
        done: list[int] = []
        while limit is None or len(done) < limit:
            version = self.conclude_next()
            if version is None or version in done:
                break
            done.append(version)
        return done

    # --- the loop -------------------------------------------------------------------

    def wake(self) -> None:
        """Look for versions now (a write committed)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Drain, then sleep until woken or the poll interval passes; until ``stop``.

        A database error (an outage) backs off exponentially, from the poll interval up to
        30 seconds, and the loop resumes where the outbox says it is.
        """
        failures = 0
        while not stop.is_set():
            try:
                self.drain(limit=100)
                failures = 0
                delay = self.timing.poll
            except Exception:
                failures += 1
                delay = min(self.timing.poll * 2**failures, 30.0)
                if failures == 1:  # once per outage, not once per attempt
                    logger.warning("the conclusions worker cannot reach the database; backing off")
            self._wake.wait(delay)
            self._wake.clear()


def sessions_of(factory: Callable[[], Session]) -> Sessions:
    """Session openers from a session factory: commit at the end, roll back on error."""

    @contextmanager
    def opened() -> Iterator[Session]:
        with factory() as session, session.begin():
            yield session

    return opened
