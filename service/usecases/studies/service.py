"""Studies: add (one or a batch), update, read one, and list, as of any evidence version.

Studies from keys without the curate scope start as ``pending`` unless the key is trusted;
only included studies count in pooled results (see :mod:`service.usecases.studies.curation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from service.db.models import StudyRevision
from service.db.repositories.studies import StudyFilters, StudyRepository
from service.errors import FutureVersionError, InvalidInputError, NotFoundError, fields_detail
from service.schemas.pooled_summary import PooledChangeRead
from service.schemas.required_fields import field_message
from service.schemas.studies import StudyCreate, StudyRead, StudyUpdate
from service.schemas.study_counts import StudyCountsRead
from service.settings import get_settings
from service.usecases.studies.duplicates import (
    MATCHED_FIELDS,
    confirmation_note,
    refuse_near_duplicates,
)
from service.usecases.studies.evidence import (
    StudyChange,
    WriteContext,
    changed_fields,
    current_version,
    lock_evidence,
    open_version,
    record_changes,
)
from service.usecases.studies.rules import FieldErrors, PreparedStudy, Vocabulary, prepare_studies
from service.usecases.studies.views import (
    editable_fields,
    new_revision,
    new_rows,
    new_study_read,
    study_read,
)
from service.usecases.studies.visibility import ANONYMOUS, UNREVIEWED_STATUSES, Viewer
from service.usecases.studies.writes import (
    DUPLICATE_KEYS,
    StudyWriteResult,
    current_for_write,
    refuse_duplicates,
    supersede,
)

LISTED_BY_DEFAULT = ("pending", "included", "excluded")


@dataclass(frozen=True, slots=True)
class BatchWriteResult:
    """Every study of a batch, all current in one new evidence version, and the outcomes it
    touched (``pooled_changes``: as for :class:`.writes.StudyWriteResult`).

    ``studies_json`` holds each study as ``model_dump(mode="json")`` gives it, made once for
    the audit entries and the answer alike (dumping 1,000 studies twice cost ~50 ms). The
    audit's rows are already written from them: read them, never change them.
    """

    evidence_version: int
    studies: tuple[StudyRead, ...]
    outcomes: tuple[str, ...] = ()
    pooled_changes: tuple[PooledChangeRead, ...] | None = None
    studies_json: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class _Stored:
    number: int
    reads: list[StudyRead]
    outcomes: tuple[str, ...]
    dumped: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class StudyPage:
    items: tuple[StudyRead, ...]
    next_after_id: int | None


def _repeated_keys(bodies: Sequence[StudyCreate], errors: FieldErrors) -> None:
    for key in DUPLICATE_KEYS:
        first: dict[str, int] = {}
        for index, body in enumerate(bodies):
            value = getattr(body, key)
            if value is not None and first.setdefault(value, index) != index:
                errors.add(f"studies.{index}.{key}", f"same {key} as studies.{first[value]}")


def _prepare_all(
    session: Session, bodies: Sequence[StudyCreate], *, batch: bool
) -> list[PreparedStudy]:
    vocabulary = Vocabulary.cached(session)
    errors = FieldErrors()
    at = [f"studies.{i}." if batch else "" for i in range(len(bodies))]
    prepared = prepare_studies(bodies, vocabulary, errors, at=at)
    if batch:
        _repeated_keys(bodies, errors)
    errors.raise_if_any("No study was stored.")
    return prepared


def _store_new(
    session: Session, prepared: Sequence[PreparedStudy], context: WriteContext, kind: str
) -> _Stored:
    """Record the studies in a new version; nothing derived (the conclusions worker's).

    A key whose studies wait as pending used to get what they would change if included,
    computed by writing them twice (the second time in a rolled-back SAVEPOINT). That preview
    is now a link in the answer, and ``POST /v1/studies/preview`` computes it when asked.
    """
    return _store_rows(session, prepared, context, kind)


def _store_rows(
    session: Session, prepared: Sequence[PreparedStudy], context: WriteContext, kind: str
) -> _Stored:
    version = open_version(session, context, kind)
    bodies = [p.study for p in prepared]
    refuse_duplicates(session, bodies)
    refuse_near_duplicates(session, bodies, batch=kind != "create")
    statuses = [initial_status(item, context) for item in prepared]
    rows = [
        new_rows(item, valid_from=version.number, status=status, reason=None)
        for item, status in zip(prepared, statuses, strict=True)
    ]
    status = statuses[0] if len(set(statuses)) == 1 else "included or pending"
    at, number = version.created_at, version.number
    ids = StudyRepository(session).insert_new(rows, created_at=at, created_version=number)
    reads = [
        new_study_read(r, study_id=i, created_at=at, created_version=number)
        for r, i in zip(rows, ids, strict=True)
    ]
    summary = _creation_summary(reads, status) + confirmation_note(bodies)
    dumped = [r.model_dump(mode="json") for r in reads]
    created = [StudyChange("create", None, r, d) for r, d in zip(reads, dumped, strict=True)]
    touched = record_changes(session, version, created, summary)
    return _Stored(version.number, reads, tuple(touched), dumped)


def initial_status(prepared: PreparedStudy, context: WriteContext) -> str:
    """``included`` from a curator or a trusted key, else ``pending``.

    A study with a data warning (an SD that looks like an SE, say) is always ``pending``: it
    enters the evidence only when a curator includes it, having read the warning.
    """
    if has_warnings(prepared) or get_settings().dual_extraction_required:
        return "pending"  # with dual extraction required, a second extraction comes first
    return "included" if context.trusted_with_evidence else "pending"


def has_warnings(prepared: PreparedStudy) -> bool:
    """Whether any result of ``prepared`` carries a plausibility warning."""
    return any(result.warnings for result in prepared.results)


def _creation_summary(reads: Sequence[StudyRead], status: str) -> str:
    if len(reads) == 1:
        study = reads[0]
        return f"Added study {study.id} ({status}): {study.title}"
    return f"Added {len(reads)} studies ({status}), ids {reads[0].id}-{reads[-1].id}"


def create_study(session: Session, body: StudyCreate, context: WriteContext) -> StudyWriteResult:
    """Store a new study with its derived effect sizes, in a new evidence version.

    Raises ``InvalidInputError`` (422) for a broken rule and ``ConflictError`` (409) when a
    study with the same DOI or registration id exists; nothing is written then.
    """
    prepared = _prepare_all(session, [body], batch=False)
    stored = _store_new(session, prepared, context, "create")
    return StudyWriteResult(
        evidence_version=stored.number, study=stored.reads[0], outcomes=stored.outcomes
    )


def create_studies(
    session: Session, bodies: Sequence[StudyCreate], context: WriteContext
) -> BatchWriteResult:
    """Store every study of a batch in one evidence version, or none of them."""
    prepared = _prepare_all(session, bodies, batch=True)
    stored = _store_new(session, prepared, context, "batch")
    return BatchWriteResult(
        evidence_version=stored.number,
        studies=tuple(stored.reads),
        outcomes=stored.outcomes,
        studies_json=tuple(stored.dumped),
    )


def _merged(current: StudyRevision, patch: StudyUpdate) -> StudyCreate:
    fields = editable_fields(current)
    fields.update(patch.model_dump(exclude_unset=True))
    try:
        return StudyCreate.model_validate(fields)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"]),
                "message": field_message(e),
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        detail = fields_detail("The study would break the review's rules. ", errors)
        raise InvalidInputError(detail, errors=errors) from exc


def update_study(
    session: Session,
    study_id: int,
    patch: StudyUpdate,
    context: WriteContext,
    *,
    if_match: str | None,
) -> StudyWriteResult:
    """Apply ``patch`` as a new revision; a patch that changes nothing writes nothing.

    Needs ``If-Match`` (428 without, 412 when stale). Effect sizes are derived again.
    """
    head = lock_evidence(session)
    current = current_for_write(
        session, study_id, context, if_match=if_match, require_if_match=True, pending_only=True
    )
    body = _merged(current, patch)
    prepared = _prepare_all(session, [body], batch=False)[0]
    # A change that brings a data warning takes an included study back to pending, unless a
    # curator makes it (who sees the warning in the response).
    demote = current.status == "included" and has_warnings(prepared) and not context.may_curate
    successor = new_revision(
        prepared,
        study=current.study,
        valid_from=head + 1,  # the number open_version will take: we hold the lock
        status="pending" if demote else current.status,
        reason=None if demote else current.status_reason,
    )
    before = study_read(current)
    changed = changed_fields(before, study_read(successor))
    if not changed:
        return StudyWriteResult(evidence_version=head, study=before, changed=False)
    refuse_duplicates(session, [body], except_study_id=study_id)
    if MATCHED_FIELDS & set(changed):
        refuse_near_duplicates(session, [body], batch=False, except_study_id=study_id)
    version = open_version(session, context, "update")
    summary = f"Updated study {study_id}: {', '.join(changed)}" + confirmation_note([body])
    return supersede(
        session,
        version,
        current,
        successor,
        action="update",
        summary=summary,
    )


def _known_version(session: Session, as_of: int | None) -> None:
    if as_of is None:
        return
    newest = current_version(session)
    if as_of > newest:
        raise FutureVersionError(as_of, newest)


def get_study(
    session: Session, study_id: int, *, as_of: int | None = None, viewer: Viewer = ANONYMOUS
) -> StudyRead:
    """The study as of version ``as_of`` (the current state when ``None``).

    A study ``viewer`` may not see is as unknown as one that does not exist (404).
    """
    _known_version(session, as_of)
    repository = StudyRepository(session)
    revision = repository.revision(study_id, as_of=as_of)
    if revision is not None and not _visible(repository, revision, viewer):
        revision = None
    if revision is None:
        when = "" if as_of is None else f" at evidence version {as_of}"
        raise NotFoundError(f"There is no study {study_id}{when}.")
    return study_read(revision)


def count_studies(session: Session) -> StudyCountsRead:
    """Current studies per status: public, whoever may read the studies themselves."""
    counts = StudyRepository(session).count_by_status()
    return StudyCountsRead(
        evidence_version=current_version(session),
        pending=counts.get("pending", 0),
        included=counts.get("included", 0),
        excluded=counts.get("excluded", 0),
        withdrawn=counts.get("withdrawn", 0),
    )


def _visible(repository: StudyRepository, revision: StudyRevision, viewer: Viewer) -> bool:
    if viewer.may_see(revision.status, submitter=None):
        return True
    return viewer.may_see(revision.status, repository.submitter(revision.study_id))


def list_studies(
    session: Session,
    filters: StudyFilters,
    *,
    as_of: int | None,
    after_id: int | None,
    limit: int,
    viewer: Viewer = ANONYMOUS,
) -> StudyPage:
    """One page of matching studies by id; withdrawn ones only when asked for by status.

    Studies ``viewer`` may not see are left out, as if they did not match.
    """
    _known_version(session, as_of)
    if not filters.statuses:
        filters = replace(filters, statuses=LISTED_BY_DEFAULT)
    if not viewer.sees_unreviewed:
        filters = replace(
            filters, hidden_statuses=UNREVIEWED_STATUSES, unless_submitted_by=viewer.actor
        )
    rows = StudyRepository(session).search(filters, as_of=as_of, after_id=after_id, limit=limit + 1)
    items = tuple(study_read(row) for row in rows[:limit])
    next_after_id = items[-1].id if len(rows) > limit else None
    return StudyPage(items=items, next_after_id=next_after_id)
