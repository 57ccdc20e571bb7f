"""Evidence versions: each committed write takes the next number and records what it changed.

A write use case calls :func:`lock_evidence` (or goes straight to :func:`open_version` when it
will certainly write), stores its rows with ``valid_from`` = the new number, then calls
:func:`record_changes`, which adds the version's changes, touched outcomes and audit entries.
All of it is in the request's transaction: it commits together or not at all, and a rollback
returns the number too, so the sequence stays gapless. :func:`record_changes` also adds the
version's row to the conclusions outbox (:mod:`.outbox`): the write records, and the
conclusions worker computes what follows from it (pooled answers, monitoring, certainty,
events) after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.models import EvidenceVersion
from service.db.repositories.evidence import AuditRepository, EvidenceRepository
from service.schemas.studies import StudyRead
from service.usecases.studies.outbox import enqueue_conclusions

SUMMARY_LENGTH = 500
# Bookkeeping that changes with every revision; not a change of the study's content.
_NOT_CONTENT = {"id", "created_at", "created_version", "valid_from", "valid_to"}


@dataclass(frozen=True, slots=True)
class WriteContext:
    """Who is writing, and what their API key may do."""

    actor: str
    request_id: str | None
    may_curate: bool
    trusted: bool

    def as_preview(self) -> WriteContext:
        """The same key's write as a trusted one would be (a what-if preview's)."""
        return replace(self, trusted=True)

    @property
    def trusted_with_evidence(self) -> bool:
        """Curators and trusted keys change the pooled evidence directly; others propose."""
        return self.may_curate or self.trusted


@dataclass(frozen=True, slots=True)
class StudyChange:
    """One study's state before (``None`` when new) and after a write.

    ``after_json`` is ``after.model_dump(mode="json")`` when the caller has made it already
    (a batch answers with the same dump), so that it is made once; ``None`` otherwise.
    """

    action: str
    before: StudyRead | None
    after: StudyRead
    after_json: dict[str, Any] | None = None

    def after_as_json(self) -> dict[str, Any]:
        """``after`` as JSON-ready values (the audit entry's and the API's shape)."""
        if self.after_json is not None:
            return self.after_json
        return self.after.model_dump(mode="json")


def changed_fields(before: StudyRead | None, after: StudyRead) -> list[str]:
    """The top-level fields whose value differs (none for a new study)."""
    if before is None:
        return []
    old = before.model_dump(mode="json", exclude=_NOT_CONTENT)
    new = after.model_dump(mode="json", exclude=_NOT_CONTENT)
    return sorted(name for name, value in new.items() if old.get(name) != value)


def _outcomes(*states: StudyRead | None) -> set[str]:
    return {r.outcome for state in states if state for r in state.outcome_results}


def lock_evidence(session: Session) -> int:
    """Wait for, then hold, the right to write; returns the newest version number."""
    return EvidenceRepository(session).lock_head()


def current_version(session: Session) -> int:
    """The newest committed version (no lock)."""
    return EvidenceRepository(session).head()


def open_version(session: Session, context: WriteContext, kind: str) -> EvidenceVersion:
    """Take the next version number and add its row (its summary is filled in at the end)."""
    repository = EvidenceRepository(session)
    version = EvidenceVersion(
        number=repository.advance_head(),
        created_at=utc_now(),
        actor=context.actor,
        kind=kind,
        summary=kind,
        request_id=context.request_id,
    )
    repository.add(version)
    return version


def _audit_entry(version: EvidenceVersion, change: StudyChange) -> dict[str, Any]:
    return {
        "version_number": version.number,
        "created_at": version.created_at,
        "actor": version.actor,
        "action": change.action,
        "resource_type": "study",
        "resource_id": change.after.id,
        "request_id": version.request_id,
        "before": change.before.model_dump(mode="json") if change.before else None,
        "after": change.after_as_json(),
    }


def record_changes(
    session: Session, version: EvidenceVersion, changes: Sequence[StudyChange], summary: str
) -> list[str]:
    """Finish ``version``: its summary, per-study changes, touched outcomes, audit entries and
    its row in the conclusions outbox.

    Returns the outcomes the version touched (for the write's ``pooled_changes``).
    """
    repository = EvidenceRepository(session)
    repository.set_summary(version, summary[:SUMMARY_LENGTH])
    touched = sorted(set().union(*(_outcomes(c.before, c.after) for c in changes)))
    repository.insert_changes(
        [
            {
                "version_number": version.number,
                "study_id": change.after.id,
                "action": change.action,
                "changed_fields": changed_fields(change.before, change.after),
            }
            for change in changes
        ],
        [{"version_number": version.number, "outcome_slug": slug} for slug in touched],
    )
    AuditRepository(session).insert_all([_audit_entry(version, change) for change in changes])
    enqueue_conclusions(session, version.number, touched, at=version.created_at)
    return touched
