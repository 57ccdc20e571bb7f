"""Reads and writes of search runs and candidates (issue 28)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from service.db.models import Candidate, EvidenceHead, SearchRun, StudyRevision

_HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A current, not withdrawn study as deduplication sees it."""

    study_id: int
    title: str
    authors: str
    year: int
    doi: str | None
    pmid: str | None
    registration_id: str | None


class SurveillanceRepository:
    """Search runs, candidates, and the studies candidates are compared with."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, row: SearchRun | Candidate) -> None:
        self._session.add(row)
        self._session.flush()

    def run(self, run_id: int, *, lock: bool = False) -> SearchRun | None:
        query = select(SearchRun).where(SearchRun.id == run_id)
        return self._session.scalars(query.with_for_update() if lock else query).one_or_none()

    def runs(self, *, limit: int, source: str | None = None) -> Sequence[SearchRun]:
        query = select(SearchRun).order_by(SearchRun.id.desc()).limit(limit)
        if source is not None:
            query = query.where(SearchRun.source == source)
        return self._session.scalars(query).all()

    def all_runs(self) -> Sequence[SearchRun]:
        return self._session.scalars(select(SearchRun).order_by(SearchRun.id)).all()

    def last_success(self, source: str, query_text: str) -> SearchRun | None:
        """The newest succeeded run of ``source`` with the same query: the watermark."""
        query = (
            select(SearchRun)
            .where(
                SearchRun.source == source,
                SearchRun.query == query_text,
                SearchRun.status == "succeeded",
            )
            .order_by(SearchRun.window_end.desc(), SearchRun.id.desc())
            .limit(1)
        )
        return self._session.scalars(query).one_or_none()

    def running(self, source: str, query_text: str) -> Sequence[SearchRun]:
        """Runs of the same search that were started and never finished."""
        query = select(SearchRun).where(
            SearchRun.source == source, SearchRun.query == query_text, SearchRun.status == "running"
        )
        return self._session.scalars(query.with_for_update()).all()

    def candidate(self, candidate_id: int, *, lock: bool = False) -> Candidate | None:
        query = select(Candidate).where(Candidate.id == candidate_id)
        return self._session.scalars(query.with_for_update() if lock else query).one_or_none()

    def candidates(
        self, *, decisions: Sequence[str] | None, limit: int, offset: int = 0
    ) -> Sequence[Candidate]:
        """Candidates by relevance (highest first), then oldest first."""
        query = select(Candidate).order_by(Candidate.relevance.desc(), Candidate.id)
        if decisions:
            query = query.where(Candidate.decision.in_(list(decisions)))
        return self._session.scalars(query.limit(limit).offset(offset)).all()

    def by_ids(self, nct_id: str | None, pmid: str | None, doi: str | None) -> Candidate | None:
        """The oldest candidate sharing any of the ids (NCT <-> PMID <-> DOI links)."""
        clauses = [
            column == value
            for column, value in (
                (Candidate.nct_id, nct_id),
                (Candidate.pmid, pmid),
                (Candidate.doi, doi),
            )
            if value is not None
        ]
        if not clauses:
            return None
        query = select(Candidate).where(or_(*clauses)).order_by(Candidate.id).limit(1)
        return self._session.scalars(query).one_or_none()

    def titled_candidates(self, year: int | None) -> Sequence[Candidate]:
        """Candidates that may share a title: same year (give or take one), or no year."""
        query = select(Candidate)
        if year is not None:
            query = query.where(
                or_(Candidate.year.is_(None), Candidate.year.between(year - 1, year + 1))
            )
        return self._session.scalars(query.order_by(Candidate.id)).all()

    def stored_studies(self) -> list[StoredRecord]:
        """Every current, not withdrawn study's bibliographic fields."""
        query = select(
            StudyRevision.study_id,
            StudyRevision.title,
            StudyRevision.authors,
            StudyRevision.year,
            StudyRevision.doi,
            StudyRevision.pmid,
            StudyRevision.registration_id,
        ).where(StudyRevision.valid_to.is_(None), StudyRevision.status != "withdrawn")
        return [StoredRecord(*row) for row in self._session.execute(query)]

    def decision_counts(self) -> dict[tuple[str, str | None], int]:
        """``{(decision, exclusion_reason): count}`` over every candidate."""
        query = select(Candidate.decision, Candidate.exclusion_reason, func.count()).group_by(
            Candidate.decision, Candidate.exclusion_reason
        )
        return {(d, r): int(n) for d, r, n in self._session.execute(query)}

    def ongoing(self, outcome: str | None = None) -> list[Candidate]:
        """Registered trials without posted results that no curator excluded, and that are
        not in the review as a study (made from the candidate, matched to one when found, or
        registered under the same NCT id by a current, not withdrawn study)."""
        query = (
            select(Candidate)
            .where(
                Candidate.nct_id.is_not(None),
                Candidate.has_results.is_(False),
                Candidate.decision.not_in(["exclude"]),
                Candidate.study_id.is_(None),
                Candidate.duplicate_of_study_id.is_(None),
            )
            .order_by(Candidate.completion_date, Candidate.id)
        )
        rows = [
            row
            for row in self._session.scalars(query).all()
            if outcome is None or outcome in row.outcomes
        ]
        studied = self._registered({row.nct_id for row in rows if row.nct_id})
        return [row for row in rows if row.nct_id not in studied]

    def _registered(self, nct_ids: set[str]) -> set[str]:
        """Those of ``nct_ids`` a current, not withdrawn study is registered under (by the
        registration id's index: only the few ongoing trials' ids are looked up)."""
        if not nct_ids:
            return set()
        query = select(StudyRevision.registration_id).where(
            StudyRevision.registration_id.in_(sorted(nct_ids)),
            StudyRevision.valid_to.is_(None),
            StudyRevision.status != "withdrawn",
        )
        return {str(value) for value in self._session.scalars(query)}

    def touch(self) -> None:
        """Count a write to the candidates (``evidence_head.surveillance_version``)."""
        self._session.execute(
            update(EvidenceHead)
            .where(EvidenceHead.id == _HEAD_ID)
            .values(surveillance_version=EvidenceHead.surveillance_version + 1)
        )

    def state(self) -> tuple[int, int]:
        """The newest evidence version and the candidates' write counter, in one read."""
        query = select(EvidenceHead.version, EvidenceHead.surveillance_version).where(
            EvidenceHead.id == _HEAD_ID
        )
        version, surveillance = self._session.execute(query).one()
        return int(version), int(surveillance)
