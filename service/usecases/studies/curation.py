"""Curation and withdrawal: status changes, each a new revision in a new evidence version.

- include: pending or excluded -> included (curate scope);
- exclude: pending or included -> excluded, with a reason (curate scope);
- withdraw: any -> withdrawn, with a reason; final. A key without the curate scope may withdraw
  only the studies it submitted, and, unless it is trusted, only while they are pending.

A study whose results carry an ``error``-level data warning (an SD that looks like an SE)
is included only with a reason: the curator says why the value stands, and the reason is the
new revision's ``status_reason``, in the version's summary and the audit trail.

A request that would change nothing (including an included study) writes nothing and answers
with the study as it is. ``If-Match`` is optional here; when sent, it must match.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.db.repositories.extraction import ExtractionRepository
from service.errors import ConflictError, InvalidInputError
from service.schemas.studies import StudyRead
from service.settings import get_settings
from service.usecases.studies.evidence import WriteContext, lock_evidence, open_version
from service.usecases.studies.views import copy_revision, study_read
from service.usecases.studies.writes import StudyWriteResult, current_for_write, supersede

_STATUS_OF = {"include": "included", "exclude": "excluded", "withdraw": "withdrawn"}
_VERB = {"include": "Included", "exclude": "Excluded", "withdraw": "Withdrew"}


def _change_status(
    session: Session,
    study_id: int,
    context: WriteContext,
    *,
    action: str,
    reason: str | None,
    if_match: str | None,
) -> StudyWriteResult:
    head = lock_evidence(session)
    current = current_for_write(
        session,
        study_id,
        context,
        if_match=if_match,
        require_if_match=False,
        pending_only=action == "withdraw",
    )
    status = _STATUS_OF[action]
    if action == "include":
        refuse_without_agreed_extraction(session, study_id)
        if reason is None:
            _require_reason_for_errors(study_read(current))
    if current.status == status and current.status_reason == reason:
        return StudyWriteResult(evidence_version=head, study=study_read(current), changed=False)
    version = open_version(session, context, action)
    successor = copy_revision(current, valid_from=version.number, status=status, reason=reason)
    summary = f"{_VERB[action]} study {study_id}" + (f": {reason}" if reason else "")
    return supersede(
        session,
        version,
        current,
        successor,
        action=action,
        summary=summary,
    )


def refuse_without_agreed_extraction(session: Session, study_id: int) -> None:
    """409 while the study has open extraction discrepancies, or (when the setting requires
    dual extraction) no second extraction yet."""
    repository = ExtractionRepository(session)
    open_count = repository.open_count(study_id)
    if open_count:
        raise ConflictError(
            f"Study {study_id} has {open_count} open extraction discrepancies: resolve each "
            f"(GET /v1/studies/{study_id}/extractions) before including it."
        )
    if get_settings().dual_extraction_required and not repository.extraction_count(study_id):
        raise ConflictError(
            f"Study {study_id} needs a second, independent extraction before inclusion "
            f"(POST /v1/studies/{study_id}/extractions with another key)."
        )


def error_warnings(study: StudyRead) -> list[dict[str, str | None]]:
    """The study's ``error``-level data warnings, each with its result's outcome."""
    return [
        {"outcome": result.outcome, **warning.model_dump()}
        for result in study.outcome_results
        for warning in result.data_warnings
        if warning.level == "error"
    ]


def _require_reason_for_errors(study: StudyRead) -> None:
    found = error_warnings(study)
    if not found:
        return
    fields = ", ".join(str(w["field"]) for w in found)
    raise InvalidInputError(
        f"Study {study.id} has {len(found)} unresolved error-level data warning(s) ({fields}). "
        "Correct the data (PATCH the study), or include it with a reason saying why the "
        'values stand: send {"reason": "..."}; the reason is recorded in the audit trail.',
        errors=[{"field": "reason", "message": "required while error-level warnings stand"}],
        members={"data_warnings": found},
    )


def include_study(
    session: Session,
    study_id: int,
    context: WriteContext,
    *,
    reason: str | None = None,
    if_match: str | None = None,
) -> StudyWriteResult:
    """Count the study in pooled results from the new version on (with ``reason`` when an
    error-level data warning stands)."""
    return _change_status(
        session, study_id, context, action="include", reason=reason, if_match=if_match
    )


def exclude_study(
    session: Session,
    study_id: int,
    reason: str,
    context: WriteContext,
    *,
    if_match: str | None = None,
) -> StudyWriteResult:
    """Leave the study out of pooled results, saying why."""
    return _change_status(
        session, study_id, context, action="exclude", reason=reason, if_match=if_match
    )


def withdraw_study(
    session: Session,
    study_id: int,
    reason: str,
    context: WriteContext,
    *,
    if_match: str | None = None,
) -> StudyWriteResult:
    """Withdraw the study for good; its history stays readable with ``as_of``."""
    return _change_status(
        session, study_id, context, action="withdraw", reason=reason, if_match=if_match
    )
