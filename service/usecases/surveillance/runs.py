"""Search runs: a bot starts one, posts what it found, and finishes it.

1. ``start_run``: the window starts at the watermark, the end of the newest succeeded run of
   the same source and query (``None`` the first time: search everything), and ends now; a
   run of the same search still open (its bot died) is closed as failed;
2. ``submit``: each record is cleaned (:mod:`.records`) and deduplicated (:mod:`.dedup`);
   the run counts found / new / duplicates; a new candidate publishes ``candidate.found``
   through the transactional outbox, in the same transaction;
3. ``finish_run``: succeeded (the window becomes the next run's watermark) or failed (the next
   run searches the same window again: resumable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.models import Candidate, SearchRun
from service.db.repositories.surveillance import SurveillanceRepository
from service.errors import ConflictError, NotFoundError
from service.schemas.surveillance import CandidateCreate, SearchRunCreate, SearchRunFinish
from service.usecases.events.envelope import EventDraft, EventType
from service.usecases.events.outbox import publish
from service.usecases.studies.evidence import lock_evidence
from service.usecases.surveillance.dedup import merge_into, same_candidate, stored_match
from service.usecases.surveillance.records import CleanRecord, clean


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one posted record."""

    candidate_id: int
    result: str
    duplicate_of_study_id: int | None
    warnings: list[str]


def start_run(session: Session, body: SearchRunCreate, actor: str) -> SearchRun:
    """Step 1 of the module docstring."""
    now = utc_now()
    repository = SurveillanceRepository(session)
    for stale in repository.running(body.source, body.query):
        stale.status, stale.finished_at = "failed", now
        stale.note = "abandoned: a newer run of the same search started"
    last = repository.last_success(body.source, body.query)
    run = SearchRun(
        source=body.source,
        query=body.query,
        window_start=None if last is None else last.window_end,
        window_end=body.window_end or now,
        status="running",
        actor=actor[:200],
        started_at=now,
        found=0,
        new=0,
        duplicates=0,
    )
    repository.add(run)
    return run


def _running(repository: SurveillanceRepository, run_id: int) -> SearchRun:
    run = repository.run(run_id, lock=True)
    if run is None:
        raise NotFoundError(f"No search run {run_id}.")
    if run.status != "running":
        raise ConflictError(f"Search run {run_id} has {run.status}; start a new run.")
    return run


def submit(
    session: Session, run_id: int, records: Sequence[CandidateCreate]
) -> tuple[SearchRun, list[Outcome]]:
    """Step 2 of the module docstring (under the evidence lock, so that two bots posting the
    same trial at once cannot both store it)."""
    lock_evidence(session)
    repository = SurveillanceRepository(session)
    run = _running(repository, run_id)
    now = utc_now()
    studies = repository.stored_studies()
    outcomes, drafts = [], []
    for record in records:
        cleaned = clean(record, today=now.date())
        run.found += 1
        existing = same_candidate(repository, cleaned)
        if existing is not None:
            merge_into(existing, cleaned, run.source)
            run.duplicates += 1
            outcomes.append(
                Outcome(existing.id, "duplicate", existing.duplicate_of_study_id, cleaned.warnings)
            )
            continue
        match = stored_match(studies, cleaned)
        candidate = _candidate(run, cleaned, now)
        if match is not None:
            candidate.decision, candidate.duplicate_of_study_id = "duplicate", match.study_id
            candidate.note = match.reason
            run.duplicates += 1
        else:
            run.new += 1
        repository.add(candidate)
        if match is None:
            drafts.append(_found_event(candidate))
        outcomes.append(
            Outcome(
                candidate.id,
                "new" if match is None else "duplicate",
                candidate.duplicate_of_study_id,
                cleaned.warnings,
            )
        )
    publish(session, drafts, at=now)
    if records:
        repository.touch()  # the ongoing trials may have changed: see .answers
    session.flush()
    return run, outcomes


def _candidate(run: SearchRun, record: CleanRecord, now: datetime) -> Candidate:
    return Candidate(
        search_run_id=run.id,
        source=run.source,
        nct_id=record.nct_id,
        pmid=record.pmid,
        doi=record.doi,
        title=record.title,
        authors=record.authors,
        year=record.year,
        abstract=record.abstract,
        publication_types=record.publication_types,
        registry_status=record.registry_status,
        completion_date=record.completion_date,
        has_results=record.has_results,
        outcomes=record.outcomes,
        draft=record.draft,
        warnings=record.warnings,
        relevance=record.relevance,
        decision="unscreened",
        found_at=now,
    )


def _found_event(candidate: Candidate) -> EventDraft:
    data = {
        "candidate_id": candidate.id,
        "source": candidate.source,
        "nct_id": candidate.nct_id,
        "pmid": candidate.pmid,
        "doi": candidate.doi,
        "title": candidate.title[:300],
        "relevance": candidate.relevance,
        "outcomes": candidate.outcomes,
        "links": {"candidate": f"/v1/candidates/{candidate.id}"},
    }
    outcome = candidate.outcomes[0] if len(candidate.outcomes) == 1 else None
    return EventDraft(type=EventType.CANDIDATE_FOUND, data=data, outcome=outcome)


def finish_run(session: Session, run_id: int, body: SearchRunFinish) -> SearchRun:
    """Step 3 of the module docstring."""
    run = _running(SurveillanceRepository(session), run_id)
    run.status = body.status
    run.note = body.note
    run.finished_at = utc_now()
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> SearchRun:
    run = SurveillanceRepository(session).run(run_id)
    if run is None:
        raise NotFoundError(f"No search run {run_id}.")
    return run


def list_runs(session: Session, *, limit: int, source: str | None) -> Sequence[SearchRun]:
    """The newest runs first."""
    return SurveillanceRepository(session).runs(limit=limit, source=source)
