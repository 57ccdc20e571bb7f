"""Reading the evidence history: versions, what each changed, and the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from service.db.models import AuditEntry, EvidenceVersion
from service.db.repositories.evidence import AuditRepository, EvidenceRepository
from service.errors import NotFoundError
from service.schemas.audit import AuditEntryRead
from service.schemas.versions import EvidenceVersionDetail, EvidenceVersionRead
from service.usecases.studies.visibility import ANONYMOUS, Viewer

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HistoryPage(Generic[T]):
    """A page of a newest-first list; ``next_before`` continues it."""

    items: tuple[T, ...]
    next_before: int | None


def _summary(version: EvidenceVersion, viewer: Viewer) -> str:
    """The version's summary, or, for a reader who may not see unreviewed studies (whose
    titles and reasons summaries quote), one without free text, unless they wrote it."""
    if viewer.sees_unreviewed or (viewer.actor is not None and viewer.actor == version.actor):
        return version.summary
    count = len(version.changes)
    if count == 1:
        return f"{version.kind}: study {version.changes[0].study_id}"
    return f"{version.kind}: {count:,} studies"


def _version_fields(version: EvidenceVersion, viewer: Viewer) -> dict[str, Any]:
    return {
        "number": version.number,
        "created_at": version.created_at,
        "actor": version.actor,
        "kind": version.kind,
        "summary": _summary(version, viewer),
        "study_ids": [change.study_id for change in version.changes],
        "outcomes": [outcome.outcome_slug for outcome in version.outcomes],
    }


def list_versions(
    session: Session,
    *,
    before: int | None,
    limit: int,
    outcome: str | None = None,
    viewer: Viewer = ANONYMOUS,
) -> HistoryPage[EvidenceVersionRead]:
    """Versions newest first; with ``outcome``, only those that touched it."""
    rows = EvidenceRepository(session).versions(before=before, limit=limit + 1, outcome=outcome)
    items = tuple(
        EvidenceVersionRead.model_validate(_version_fields(v, viewer)) for v in rows[:limit]
    )
    return HistoryPage(items, items[-1].number if len(rows) > limit else None)


def get_version(
    session: Session, number: int, *, viewer: Viewer = ANONYMOUS
) -> EvidenceVersionDetail:
    """One version and, study by study, what it changed."""
    version = EvidenceRepository(session).version(number)
    if version is None:
        raise NotFoundError(f"There is no evidence version {number}.")
    changes = [
        {"study_id": c.study_id, "action": c.action, "changed_fields": c.changed_fields}
        for c in version.changes
    ]
    fields = {**_version_fields(version, viewer), "changes": changes}
    return EvidenceVersionDetail.model_validate(fields)


def _audit_read(entry: AuditEntry) -> AuditEntryRead:
    return AuditEntryRead(
        id=entry.id,
        evidence_version=entry.version_number,
        created_at=entry.created_at,
        actor=entry.actor,
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        request_id=entry.request_id,
        before=entry.before,
        after=entry.after,
    )


def list_audit(
    session: Session,
    *,
    before: int | None,
    limit: int,
    study_id: int | None = None,
    actor: str | None = None,
) -> HistoryPage[AuditEntryRead]:
    """Audit entries newest first, optionally for one study or one actor."""
    rows: Sequence[AuditEntry] = AuditRepository(session).entries(
        before_id=before, limit=limit + 1, resource_id=study_id, actor=actor
    )
    items = tuple(_audit_read(entry) for entry in rows[:limit])
    return HistoryPage(items, items[-1].id if len(rows) > limit else None)
