"""Curation and withdrawal: status changes, each a new revision in a new evidence version.

- include: pending or excluded -> included (curate scope);
- exclude: pending or included -> excluded, with a reason (curate scope);
- withdraw: any -> withdrawn, with a reason; final. A key without the curate scope may withdraw
  only the studies it submitted, and, unless it is trusted, only while they are pending.

A request that would change nothing (including an included study) writes nothing and answers
with the study as it is. ``If-Match`` is optional here; when sent, it must match.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

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


def include_study(
    session: Session, study_id: int, context: WriteContext, *, if_match: str | None = None
) -> StudyWriteResult:
    """Count the study in pooled results from the new version on."""
    return _change_status(
        session, study_id, context, action="include", reason=None, if_match=if_match
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
