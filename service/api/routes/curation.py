"""Curation (include, exclude) and withdrawal of studies."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.api.auth import CuratePrincipalDep, SubmitPrincipalDep
from service.api.deps import WriteSessionDep
from service.api.idempotency import IdempotencyDep
from service.api.params import StudyId
from service.api.routes.studies import IfMatch
from service.api.summaries import summaries_from_docstrings
from service.api.writes import study_write_response, write_context
from service.schemas.common import problem_responses
from service.schemas.studies import IncludeBody, ReasonBody, StudyWriteRead
from service.usecases.studies import curation

router = APIRouter(prefix="/v1/studies", tags=["curation"])
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
) -> Response:
    """Include a study: it counts in pooled results from the new version on."""
    context = write_context(principal, request)
    reason = body.reason if body else None
    return idempotency.execute(
        lambda: study_write_response(
            curation.include_study(session, study_id, context, reason=reason, if_match=if_match)
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
) -> Response:
    """Exclude a study from pooled results, with the reason."""
    context = write_context(principal, request)
    return idempotency.execute(
        lambda: study_write_response(
            curation.exclude_study(session, study_id, body.reason, context, if_match=if_match)
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
) -> Response:
    """Withdraw a study for good, with the reason; its history stays readable."""
    context = write_context(principal, request)
    return idempotency.execute(
        lambda: study_write_response(
            curation.withdraw_study(session, study_id, body.reason, context, if_match=if_match)
        )
    )


summaries_from_docstrings(router)
