"""Curation (include, exclude) and withdrawal of studies."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from service.api.auth import CuratePrincipalDep, SubmitPrincipalDep
from service.api.deps import WriteSessionDep
from service.api.idempotency import IdempotencyDep
from service.api.params import StudyId
from service.api.routes.studies import IfMatch
from service.api.summaries import summaries_from_docstrings
from service.api.writes import (
    Include,
    selections,
    study_write_response,
    with_pooled_changes,
    write_context,
)
from service.schemas.common import problem_responses
from service.schemas.studies import IncludeBody, ReasonBody, StudyWriteRead
from service.usecases.studies import curation
from service.usecases.studies.writes import StudyWriteResult

router = APIRouter(prefix="/v1/studies", tags=["curation"])


def _answer(
    session: Session, request: Request, result: StudyWriteResult, include: str | None
) -> Response:
    if include is not None:
        result = with_pooled_changes(session, result, selections(request))
    return study_write_response(result)


PROBLEMS = problem_responses(401, 403, 404, 409, 412, 422)


@router.post("/{study_id}/include", response_model=StudyWriteRead, responses=PROBLEMS)
def include_study(
    study_id: StudyId,
    request: Request,
    session: WriteSessionDep,
    principal: CuratePrincipalDep,
    idempotency: IdempotencyDep,
    body: IncludeBody | None = None,
    if_match: IfMatch = None,
    include: Include = None,
) -> Response:
    """Include a study: it counts in pooled results from the new version on."""
    context = write_context(principal, request)
    reason = body.reason if body else None
    return idempotency.execute(
        lambda: _answer(
            session,
            request,
            curation.include_study(session, study_id, context, reason=reason, if_match=if_match),
            include,
        )
    )


@router.post("/{study_id}/exclude", response_model=StudyWriteRead, responses=PROBLEMS)
def exclude_study(
    study_id: StudyId,
    body: ReasonBody,
    request: Request,
    session: WriteSessionDep,
    principal: CuratePrincipalDep,
    idempotency: IdempotencyDep,
    if_match: IfMatch = None,
    include: Include = None,
) -> Response:
    """Exclude a study from pooled results, with the reason."""
    context = write_context(principal, request)
    return idempotency.execute(
        lambda: _answer(
            session,
            request,
            curation.exclude_study(session, study_id, body.reason, context, if_match=if_match),
            include,
        )
    )


@router.post("/{study_id}/withdraw", response_model=StudyWriteRead, responses=PROBLEMS)
def withdraw_study(
    study_id: StudyId,
    body: ReasonBody,
    request: Request,
    session: WriteSessionDep,
    principal: SubmitPrincipalDep,
    idempotency: IdempotencyDep,
    if_match: IfMatch = None,
    include: Include = None,
) -> Response:
    """Withdraw a study for good, with the reason; its history stays readable."""
    context = write_context(principal, request)
    return idempotency.execute(
        lambda: _answer(
            session,
            request,
            curation.withdraw_study(session, study_id, body.reason, context, if_match=if_match),
            include,
        )
    )


summaries_from_docstrings(router)
