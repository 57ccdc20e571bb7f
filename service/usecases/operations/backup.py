"""Backup and restore of the whole evidence base, history included.

:func:`export_evidence` reads every version, study revision (with arms and outcome results) and
audit entry from one snapshot; :func:`import_evidence` writes them back, ids and version ranges
unchanged, into a migrated database that holds no evidence yet, in the caller's transaction
(all or nothing). The restored database answers every ``as_of`` query as the original did.

API keys are exported as metadata only and never restored: a backup file is handled more
loosely than the database, so it carries no key hashes, and a restored database needs new keys
(``lma keys create``). Versions and audit entries name their actors, so the history keeps who
did what. Idempotency records are not exported: they only matter for hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.base import Base, utc_now
from service.db.models import (
    AuditEntry,
    Candidate,
    CertaintyJudgement,
    EvidenceChange,
    EvidenceVersion,
    EvidenceVersionOutcome,
    ExtractionDiscrepancy,
    OutcomeResult,
    SearchRun,
    Study,
    StudyArm,
    StudyExtraction,
    StudyRevision,
    StudySourceKey,
)
from service.db.repositories.backup import BackupRepository
from service.errors import ConflictError, InvalidInputError
from service.schemas.backup import (
    ApiKeyRow,
    AuditRow,
    CandidateRow,
    ChangeRow,
    DiscrepancyRow,
    EvidenceBackup,
    ExtractionRow,
    JudgementRow,
    RevisionRow,
    SearchRunRow,
    SourceKeyRow,
    StudyRow,
    VersionRow,
)
from service.usecases.studies.evidence import lock_evidence
from service.usecases.studies.rules import Vocabulary


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    """What an import wrote."""

    versions: int
    studies: int
    revisions: int
    audit_entries: int
    api_keys_not_restored: int


def _version_row(version: EvidenceVersion) -> VersionRow:
    return VersionRow(
        number=version.number,
        created_at=version.created_at,
        actor=version.actor,
        kind=version.kind,
        summary=version.summary,
        request_id=version.request_id,
        changes=[ChangeRow.model_validate(change) for change in version.changes],
        outcomes=[outcome.outcome_slug for outcome in version.outcomes],
    )


def _study_rows(studies: Sequence[Study], revisions: Sequence[StudyRevision]) -> list[StudyRow]:
    by_study: dict[int, list[RevisionRow]] = {study.id: [] for study in studies}
    for revision in revisions:
        by_study[revision.study_id].append(RevisionRow.model_validate(revision))
    return [
        StudyRow(
            id=study.id,
            created_at=study.created_at,
            created_version=study.created_version,
            revisions=by_study[study.id],
        )
        for study in studies
    ]


def export_evidence(session: Session, *, schema_revision: str | None) -> EvidenceBackup:
    """Every row of the evidence store, read from one snapshot (a fresh session is needed)."""
    repository = BackupRepository(session)
    repository.begin_snapshot()
    versions = repository.versions()
    return EvidenceBackup(
        schema_revision=schema_revision,
        exported_at=utc_now(),
        head_version=versions[-1].number if versions else 0,
        versions=[_version_row(version) for version in versions],
        studies=_study_rows(repository.studies(), repository.revisions()),
        audit_entries=[AuditRow.model_validate(entry) for entry in repository.audit_entries()],
        judgements=[JudgementRow.model_validate(row) for row in repository.judgements()],
        api_keys=[ApiKeyRow.model_validate(key) for key in repository.api_keys()],
        source_keys=[SourceKeyRow.model_validate(key) for key in repository.source_keys()],
        extractions=[ExtractionRow.model_validate(row) for row in repository.extractions()],
        discrepancies=[DiscrepancyRow.model_validate(row) for row in repository.discrepancies()],
        search_runs=[SearchRunRow.model_validate(run) for run in repository.search_runs()],
        candidates=[CandidateRow.model_validate(row) for row in repository.candidates()],
    )


def _unknown_slugs(backup: EvidenceBackup, vocabulary: Vocabulary) -> list[str]:
    known = {
        "design": vocabulary.designs,
        "category": vocabulary.categories,
        "comparator": vocabulary.comparators,
        "quality_rating": vocabulary.quality_ratings,
        "outcome": vocabulary.outcomes,
        "instrument": frozenset(vocabulary.instrument_outcome),
    }
    used: dict[str, set[str]] = {kind: set() for kind in known}
    for revision in (r for study in backup.studies for r in study.revisions):
        used["design"].add(revision.design_slug)
        used["category"].add(revision.category_slug)
        used["comparator"].add(revision.comparator_slug)
        used["quality_rating"].add(revision.quality_rating_slug)
        for result in revision.outcome_results:
            used["outcome"].add(result.outcome_slug)
            used["instrument"].add(result.instrument_slug)
    used["outcome"] |= {slug for version in backup.versions for slug in version.outcomes}
    used["outcome"] |= {j.outcome_slug for j in backup.judgements}
    used["category"] |= {j.category_slug for j in backup.judgements if j.category_slug}
    return [f"{kind} {slug!r}" for kind in known for slug in sorted(used[kind] - known[kind])]


def _check_consistent(backup: EvidenceBackup, vocabulary: Vocabulary) -> None:
    numbers = [version.number for version in backup.versions]
    if numbers != list(range(1, backup.head_version + 1)):
        raise InvalidInputError(
            f"The backup's versions are not 1..{backup.head_version} in order: it is damaged."
        )
    unknown = _unknown_slugs(backup, vocabulary)
    if unknown:
        raise InvalidInputError(
            "The backup uses vocabulary this database does not have: " + ", ".join(unknown)
        )


# Rows nested in an exported row; each goes to a table of its own.
_NESTED = {"revisions", "arms", "outcome_results", "changes", "outcomes"}


def _rows(items: Iterable[BaseModel], **parent: int) -> list[dict[str, Any]]:
    """The column values of exported rows: nested rows left out, the parent's key added."""
    return [item.model_dump(exclude=_NESTED) | parent for item in items]


def _restore(repository: BackupRepository, backup: EvidenceBackup) -> None:
    revisions = [(study.id, revision) for study in backup.studies for revision in study.revisions]
    tables: list[tuple[type[Base], list[dict[str, Any]]]] = [
        (EvidenceVersion, _rows(backup.versions)),
        (Study, _rows(backup.studies)),
        (StudyRevision, [row for sid, r in revisions for row in _rows([r], study_id=sid)]),
        (StudyArm, [row for _, r in revisions for row in _rows(r.arms, revision_id=r.id)]),
        (
            OutcomeResult,
            [row for _, r in revisions for row in _rows(r.outcome_results, revision_id=r.id)],
        ),
        (
            EvidenceChange,
            [row for v in backup.versions for row in _rows(v.changes, version_number=v.number)],
        ),
        (
            EvidenceVersionOutcome,
            [
                {"version_number": v.number, "outcome_slug": slug}
                for v in backup.versions
                for slug in v.outcomes
            ],
        ),
        (AuditEntry, _rows(backup.audit_entries)),
        (CertaintyJudgement, _rows(backup.judgements)),
        (StudySourceKey, _rows(backup.source_keys)),
        (StudyExtraction, _rows(backup.extractions)),
        (ExtractionDiscrepancy, _rows(backup.discrepancies)),
        (SearchRun, [run.model_dump() for run in backup.search_runs]),
        (Candidate, [row.model_dump() for row in backup.candidates]),  # has its own "outcomes"
    ]
    for model, rows in tables:
        repository.insert_rows(model, rows)
    repository.set_head(backup.head_version)
    repository.restart_id_sequences()


def import_evidence(session: Session, backup: EvidenceBackup) -> RestoreSummary:
    """Restore ``backup`` into this database, which must hold no evidence yet.

    Raises ``ConflictError`` when the database holds evidence already and ``InvalidInputError``
    when the backup is inconsistent or names vocabulary the database lacks; nothing is written
    then. Holds the evidence lock, so no writer can slip in while it restores.
    """
    lock_evidence(session)
    repository = BackupRepository(session)
    if repository.holds_evidence():
        raise ConflictError(
            "The database already holds evidence; a backup is restored only into an empty, "
            "migrated database (create a new one and run lma db upgrade)."
        )
    _check_consistent(backup, Vocabulary.load(session))
    try:
        _restore(repository, backup)
    except IntegrityError as exc:
        # A row refers to one the backup lacks: the file was edited or truncated.
        raise InvalidInputError(
            f"The backup is inconsistent and was not restored: {exc.orig}"
        ) from exc
    return RestoreSummary(
        versions=len(backup.versions),
        studies=len(backup.studies),
        revisions=sum(len(study.revisions) for study in backup.studies),
        audit_entries=len(backup.audit_entries),
        api_keys_not_restored=len(backup.api_keys),
    )
