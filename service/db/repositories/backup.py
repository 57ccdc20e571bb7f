"""Whole-database reads and writes for backups: every row of the evidence store, ids and all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session, selectinload

from service.db.base import Base
from service.db.models import (
    ApiKey,
    AuditEntry,
    Candidate,
    CertaintyJudgement,
    EvidenceHead,
    EvidenceVersion,
    ExtractionDiscrepancy,
    SearchRun,
    Study,
    StudyExtraction,
    StudyRevision,
    StudySourceKey,
)

# Tables whose integer ids a restore writes explicitly; PostgreSQL's sequences must then move on.
_SERIAL_TABLES = (
    "study", "study_revision", "study_arm", "outcome_result", "audit_entry", "certainty_judgement",
    "study_extraction", "extraction_discrepancy",
    "search_run", "candidate",
)  # fmt: skip
_HEAD_ID = 1


class BackupRepository:
    """Reads every evidence row in a stable order, and writes rows back as they were."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def begin_snapshot(self) -> None:
        """Make every later read in this transaction see one consistent snapshot.

        PostgreSQL's default READ COMMITTED gives each statement its own snapshot, so a writer
        committing between two reads would tear the export; REPEATABLE READ keeps the first.
        SQLite's read transaction already reads one snapshot (WAL) from its first statement.
        Call it before anything else in the session's transaction.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    def holds_evidence(self) -> bool:
        """Whether any version, study, audit entry or search run exists (API keys do not count)."""
        queries = (
            select(EvidenceVersion.number),
            select(Study.id),
            select(AuditEntry.id),
            select(SearchRun.id),
        )
        return any(self._session.scalar(select(query.exists())) for query in queries)

    def versions(self) -> Sequence[EvidenceVersion]:
        """Every version, oldest first, with its changes and touched outcomes."""
        query = select(EvidenceVersion).order_by(EvidenceVersion.number)
        options = (selectinload(EvidenceVersion.changes), selectinload(EvidenceVersion.outcomes))
        return self._session.scalars(query.options(*options)).all()

    def studies(self) -> Sequence[Study]:
        return self._session.scalars(select(Study).order_by(Study.id)).all()

    def revisions(self) -> Sequence[StudyRevision]:
        """Every revision of every study, by study and then oldest first, with its content."""
        query = select(StudyRevision).order_by(StudyRevision.study_id, StudyRevision.valid_from)
        options = (selectinload(StudyRevision.arms), selectinload(StudyRevision.outcome_results))
        return self._session.scalars(query.options(*options)).all()

    def audit_entries(self) -> Sequence[AuditEntry]:
        return self._session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()

    def judgements(self) -> Sequence[CertaintyJudgement]:
        return self._session.scalars(
            select(CertaintyJudgement).order_by(CertaintyJudgement.id)
        ).all()

    def extractions(self) -> Sequence[StudyExtraction]:
        return self._session.scalars(select(StudyExtraction).order_by(StudyExtraction.id)).all()

    def discrepancies(self) -> Sequence[ExtractionDiscrepancy]:
        query = select(ExtractionDiscrepancy).order_by(ExtractionDiscrepancy.id)
        return self._session.scalars(query).all()

    def source_keys(self) -> Sequence[StudySourceKey]:
        query = select(StudySourceKey).order_by(
            StudySourceKey.source, StudySourceKey.source_study_id
        )
        return self._session.scalars(query).all()

    def search_runs(self) -> Sequence[SearchRun]:
        return self._session.scalars(select(SearchRun).order_by(SearchRun.id)).all()

    def candidates(self) -> Sequence[Candidate]:
        return self._session.scalars(select(Candidate).order_by(Candidate.id)).all()

    def api_keys(self) -> Sequence[ApiKey]:
        return self._session.scalars(select(ApiKey).order_by(ApiKey.id)).all()

    def insert_rows(self, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (column values, ids included) in one executemany."""
        if rows:
            self._session.execute(insert(model), list(rows))

    def set_head(self, version: int) -> None:
        # The candidates were restored too: their counter moves, so no memo of the ongoing
        # trials outlives the restore (see service.usecases.surveillance.answers).
        statement = (
            update(EvidenceHead)
            .where(EvidenceHead.id == _HEAD_ID)
            .values(version=version, surveillance_version=EvidenceHead.surveillance_version + 1)
        )
        self._session.execute(statement)

    def restart_id_sequences(self) -> None:
        """Move PostgreSQL's id sequences past the restored ids (SQLite needs nothing)."""
        if self._session.get_bind().dialect.name != "postgresql":
            return
        for table in _SERIAL_TABLES:
            # Table names are the constants above, never input.
            self._session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                )
            )
