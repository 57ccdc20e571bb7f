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

A backlog is folded: one claim takes a *run* of up to :data:`RUN` due versions in version
order (a version whose outcome an earlier version of the run touches may join it: the run
concludes them in order). The run is computed in one read session by one worker, so each
version's "before" (effects, headlines, certainty, monitoring looks) is the previous one's
"after" from this process's memo, and stored in one write transaction; the pooled answers
are warmed once, at the end of the run, at its newest version. Every version still gets its
own events and its own monitoring look (a look is one fit of the memo's effects): what is
folded is the work between versions, never what is promised per version.

It runs in the API process (a thread; ``CONCLUSIONS_IN_API``) or beside webhook delivery in
``lma worker``; several workers share the outbox safely.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
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
RUN = 25  # versions concluded per claim under a backlog (a run; well within one lease)
# A run stores what it computed after about this long, so that under a backlog events still
# reach the feed every second or so (each store and claim costs a few milliseconds).
RUN_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class WorkerTiming:
    """The worker's lease, its idle polling, its first retry delay, how long it waits after
    a commit woke it before concluding, and how long the background loop waits for no new
    commit before warming (seconds)."""

    lease: float = 60.0
    poll: float = 0.5
    retry: float = 1.0
    settle: float = 0.0
    warm_settle: float = 0.0


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
        self._defer_warm = False  # the background loop warms once commits settle
        self._warm_due: tuple[int, tuple[str, ...]] | None = None
        self.clock: Callable[[], datetime] = _now  # tests move it forward

    # --- one version ----------------------------------------------------------------

    def _claim(self) -> list[tuple[int, tuple[str, ...]]]:
        """Take the lease of a run of the oldest versions that may be concluded now.

        A version joins the run unless an earlier version touching one of its outcomes is
        neither concluded nor in the run (leased by another worker, or waiting to retry).
        """
        with self._read() as session:  # idle polls take no write lock (SQLite has one)
            if not ConclusionRepository(session).waiting(1):
                return []
        now = self.clock()
        until = now + timedelta(seconds=self.timing.lease)
        run: list[tuple[int, tuple[str, ...]]] = []
        with self._write() as session:
            repository = ConclusionRepository(session)
            blocked: set[str] = set()
            for job in repository.waiting(CANDIDATES):
                outcomes = set(job.outcomes)
                free = _due(job, now) and not outcomes & blocked
                if free and repository.claim(job.evidence_version, self.name, now, until):
                    run.append((job.evidence_version, tuple(job.outcomes)))
                    if len(run) == RUN:
                        break
                else:
                    blocked |= outcomes
        return run

    def _store(self, run: list[Concluded]) -> None:
        with self._write() as session:
            repository = ConclusionRepository(session)
            for concluded in run:
                publish_locked(session, concluded.drafts, at=concluded.created_at)
                for update in concluded.looks:
                    store_looks(session, update)
                if not repository.conclude(concluded.version, self.name, self.clock()):
                    raise LeaseLostError(concluded.version)  # rolls the run's events back too

    def _fail(self, version: int, error: BaseException) -> None:
        with self._write() as session:
            repository = ConclusionRepository(session)
            delay = backoff(repository.attempts(version) + 1, self.timing.retry)
            retry_at = self.clock() + timedelta(seconds=delay)
            repository.fail(version, self.name, repr(error), retry_at)

    def _release(self, versions: list[int]) -> None:
        if versions:
            with self._write() as session:
                ConclusionRepository(session).release(versions, self.name)

    def _compute(
        self, run: list[tuple[int, tuple[str, ...]]]
    ) -> tuple[list[Concluded], dict[int, BaseException], list[int]]:
        """The run's conclusions in version order, its failures, and the versions left
        (behind a failure of one of their outcomes, whose events must follow its, or once
        :data:`RUN_SECONDS` or a third of the lease is spent)."""
        concluded: list[Concluded] = []
        failed: dict[int, BaseException] = {}
        left: list[int] = []
        broken: set[str] = set()
        # Store soon, and well before the lease ends: the rest of a run goes back to the outbox.
        until = time.monotonic() + min(RUN_SECONDS, self.timing.lease / 3)
        with self._read() as session:
            for version, outcomes in run:
                if broken & set(outcomes) or (concluded and time.monotonic() > until):
                    broken |= set(outcomes)
                    left.append(version)
                    continue
                try:
                    concluded.append(conclude_version(session, version, self.memo))
                except Exception as error:
                    logger.exception("concluding evidence version %s failed", version)
                    failed[version] = error
                    broken |= set(outcomes)
        return concluded, failed, left

    def conclude_next(self) -> list[int]:
        """Conclude the next run of waiting versions; their numbers (none when none is due).

        An error while computing a version is recorded against it (retried later) and
        returned as concluded-for-now, so the caller moves on to other versions; the
        versions of its outcomes after it in the run are released, untouched.
        """
        run = self._claim()
        if not run:
            return []
        concluded, failed, left = self._compute(run)
        try:
            self._store(concluded)
        except LeaseLostError as lost:
            logger.warning("the lease of evidence version %s expired; another worker has it", lost)
            return [version for version, _ in run]
        for version, error in failed.items():
            self._fail(version, error)
        self._release(left)
        if self._after is not None and concluded:
            touched = {o for version, outcomes in run if version not in failed for o in outcomes}
            if self._warm_due is not None:  # deferred, and not done yet: its outcomes too
                touched |= set(self._warm_due[1])
            self._warm_due = (concluded[-1].version, tuple(sorted(touched)))
            if not self._defer_warm:
                self._warm()
        return [version for version, _ in run if version not in left]

    def drain(self, limit: int | None = None) -> list[int]:
        """Conclude versions until none is due (or about ``limit`` of them); their numbers.

        A version that fails is tried once per drain, whatever its retry delay.
        """
        done: list[int] = []
        while limit is None or len(done) < limit:
            versions = [v for v in self.conclude_next() if v not in done]
            if not versions:
                break
            done.extend(versions)
        return done

    def _warm(self) -> None:
        due, self._warm_due = self._warm_due, None
        if due is not None and self._after is not None:
            self._after(*due)

    def _warm_once_settled(self) -> None:
        """Warm what the last conclusions touched, unless a commit comes within
        ``timing.warm_settle``: then its version comes first, and warming follows it.

        A warm-up is the full default answer of each touched outcome (0.2-0.5 s of CPU at
        10,000 studies, 2-4 times a version's conclusion), made stale by the next write:
        under writes a few tenths of a second apart it ran after every one, in the process
        answering them.
        """
        if self._warm_due is None:
            return
        if self._wake.wait(self.timing.warm_settle):
            return  # left set: the loop concludes the new version, then comes back here
        self._warm()

    # --- the loop -------------------------------------------------------------------

    def wake(self) -> None:
        """Look for versions now (a write committed)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Drain, then sleep until woken or the poll interval passes; until ``stop``.

        A database error (an outage) backs off exponentially, from the poll interval up to
        30 seconds, and the loop resumes where the outbox says it is.
        """
        self._defer_warm = self.timing.warm_settle > 0
        try:
            self._loop(stop)
        finally:
            self._defer_warm = False

    def _loop(self, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                if len(self.drain(limit=100)) < 100:  # caught up (else the backlog first)
                    self._warm_once_settled()
                failures = 0
                delay = self.timing.poll
            except Exception:
                failures += 1
                delay = min(self.timing.poll * 2**failures, 30.0)
                if failures == 1:  # once per outage, not once per attempt
                    logger.warning("the conclusions worker cannot reach the database; backing off")
            woken = self._wake.wait(delay)
            self._wake.clear()
            if woken and self.timing.settle > 0:
                # The commit's callback runs before its request is answered: concluding at
                # once took the GIL from the answer. Waking a moment later lets the write
                # answer first, and folds the writes of a burst into one run.
                stop.wait(self.timing.settle)


def sessions_of(factory: Callable[[], Session]) -> Sessions:
    """Session openers from a session factory: commit at the end, roll back on error."""

    @contextmanager
    def opened() -> Iterator[Session]:
        with factory() as session, session.begin():
            yield session

    return opened
