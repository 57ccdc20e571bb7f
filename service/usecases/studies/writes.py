"""What every write to an existing study shares: preconditions, duplicates, superseding.

Optimistic concurrency: a study's ETag is strong and names the study and the version its
current revision was written in, so it changes with every write to the study and only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.db.models import EvidenceVersion, StudyRevision
from service.db.repositories.studies import StudyRepository
from service.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from service.schemas.pooled_summary import PooledChangeRead
from service.schemas.studies import StudyCreate, StudyRead
from service.usecases.studies.evidence import StudyChange, WriteContext, record_changes
from service.usecases.studies.views import study_read

DUPLICATE_KEYS = ("doi", "registration_id")


@dataclass(frozen=True, slots=True)
class StudyWriteResult:
    """A study after a write, the evidence version it is current in, and the outcomes the
    write touched (none when nothing changed).

    ``pooled_changes`` is ``None`` unless the caller asked for them inline: they are computed
    by the conclusions worker, or on demand at ``GET /v1/versions/{n}/changes``.
    """

    evidence_version: int
    study: StudyRead
    changed: bool = True
    outcomes: tuple[str, ...] = ()
    pooled_changes: tuple[PooledChangeRead, ...] | None = None


def study_path(study_id: int) -> str:
    """Where the API serves a study."""
    return f"/v1/studies/{study_id}"


def study_etag(study_id: int, valid_from: int) -> str:
    """The strong ETag of a study's revision."""
    return f'"study-{study_id}-v{valid_from}"'


def etag_matches(if_match: str, etag: str) -> bool:
    """RFC 9110 13.1.1: ``*`` or any listed tag, compared strongly (weak tags never match)."""
    candidates = [candidate.strip() for candidate in if_match.split(",")]
    return "*" in candidates or etag in candidates


def _quoted(if_match: str) -> bool:
    """RFC 9110 8.8.3: an entity tag is a quoted string (``"x"``, ``W/"x"``), or ``*``."""
    candidates = [candidate.strip() for candidate in if_match.split(",")]
    return all(
        c == "*" or (len(c) >= 2 and c.removeprefix("W/").startswith('"') and c.endswith('"'))
        for c in candidates
    )


def current_for_write(
    session: Session,
    study_id: int,
    context: WriteContext,
    *,
    if_match: str | None,
    require_if_match: bool,
    pending_only: bool,
) -> StudyRevision:
    """The study's current revision, once the write's preconditions hold.

    404 for an unknown study; 403 for a key without the curate scope that did not submit it
    (object-level authorization: the submitter is the key that wrote the study's first
    version); 428 without ``If-Match`` when it is required; 412 when it names another
    revision; 409 for a withdrawn study (withdrawal is final); and, when ``pending_only``,
    403 for an untrusted key without curate when the study is no longer pending.
    """
    repository = StudyRepository(session)
    revision = repository.revision(study_id)
    if revision is None:
        raise NotFoundError(f"There is no study {study_id}.")
    if not context.may_curate and repository.submitter(study_id) != context.actor:
        raise PermissionDeniedError(
            f"Study {study_id} was submitted with another API key: without the curate scope a "
            "key may change or withdraw only the studies it submitted."
        )
    etag = study_etag(study_id, revision.valid_from)
    if if_match is None and require_if_match:
        raise PreconditionRequiredError(
            "Send If-Match with the study's ETag (from GET) to change it.", extra={"etag": etag}
        )
    if if_match is not None and not _quoted(if_match):
        raise PreconditionFailedError(
            f"If-Match must carry the ETag in double quotes, exactly as GET returned it: "
            f"If-Match: {etag} (got {if_match[:80]}).",
            extra={"etag": etag},
        )
    if if_match is not None and not etag_matches(if_match, etag):
        raise PreconditionFailedError(
            "The study changed since you read it: GET it again and reapply your change.",
            extra={"etag": etag},
        )
    if revision.status == "withdrawn":
        raise ConflictError(f"Study {study_id} is withdrawn; withdrawn studies do not change.")
    if pending_only and revision.status != "pending" and not context.trusted_with_evidence:
        raise PermissionDeniedError(
            f"Study {study_id} is {revision.status}: without the curate scope (or a trusted key) "
            "a key may change or withdraw its studies only while they are pending."
        )
    return revision


def _conflicts(
    bodies: Sequence[StudyCreate], existing: Sequence[StudyRevision]
) -> list[dict[str, object]]:
    conflicts: list[dict[str, object]] = []
    for index, body in enumerate(bodies):
        for revision in existing:
            for key in DUPLICATE_KEYS:
                value = getattr(body, key)
                if value is not None and value == getattr(revision, key):
                    conflicts.append(
                        {
                            "index": index,
                            "field": key,
                            "value": value,
                            "existing": study_path(revision.study_id),
                        }
                    )
    return conflicts


def refuse_duplicates(
    session: Session, bodies: Sequence[StudyCreate], *, except_study_id: int | None = None
) -> None:
    """409 when a study in ``bodies`` has the DOI or registration id of a stored study.

    Withdrawn studies do not count, so that a withdrawn record can be entered again. Call it
    holding the evidence lock: then no writer can add the same study in between.
    """
    existing = StudyRepository(session).duplicates(
        dois={b.doi for b in bodies if b.doi},
        registration_ids={b.registration_id for b in bodies if b.registration_id},
        except_study_id=except_study_id,
    )
    conflicts = _conflicts(bodies, existing)
    if not conflicts:
        return
    first = str(conflicts[0]["existing"])
    raise ConflictError(
        f"A study with the same {conflicts[0]['field']} exists already: {first}.",
        extra={
            "existing": first,
            "conflicts": conflicts,
            "headers": {"Location": first, "Link": f'<{first}>; rel="related"'},
        },
    )


def supersede(
    session: Session,
    version: EvidenceVersion,
    current: StudyRevision,
    successor: StudyRevision,
    *,
    action: str,
    summary: str,
) -> StudyWriteResult:
    """Close ``current`` at ``version``, store ``successor`` and record the change (its
    events and pooled changes are the conclusions worker's)."""
    before = study_read(current)
    current.valid_to = version.number
    repository = StudyRepository(session)
    repository.add_revision(successor)
    repository.flush()
    after = study_read(successor)
    change = StudyChange(action, before, after)
    touched = record_changes(session, version, [change], summary)
    return StudyWriteResult(evidence_version=version.number, study=after, outcomes=tuple(touched))
