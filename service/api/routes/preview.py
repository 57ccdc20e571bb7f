"""``POST /v1/studies/preview``: what one study or a batch would change; nothing is stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from service.api.auth import SubmitPrincipalDep
from service.api.budget import ComputeBudgetDep
from service.api.deps import WriteSessionDep
from service.api.methods import refuse_other_methods
from service.api.params import StudyId
from service.api.writes import write_context
from service.schemas.certainty import PreviewRead
from service.schemas.common import problem_responses
from service.schemas.studies import StudyBatchCreate, StudyCreate
from service.usecases.judgement.preview import preview_inclusion, preview_studies

router = APIRouter(prefix="/v1/studies", tags=["studies"])
# The body of POST /v1/studies or of POST /v1/studies/batch, told apart by "studies".
REQUEST_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/StudyCreate"},
                    {"$ref": "#/components/schemas/StudyBatchCreate"},
                ]
            }
        }
    },
    "required": True,
}


def _parse(body: dict[str, Any]) -> StudyCreate | StudyBatchCreate:
    """Validate as the write would, so errors name the same fields (``studies.0.year``)."""
    model = StudyBatchCreate if "studies" in body else StudyCreate
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from exc


# A write session: the preview runs the write itself inside a savepoint it rolls back.
@router.post(
    "/preview",
    response_model=PreviewRead,
    responses=problem_responses(401, 403, 409, 413, 422, 503),
    openapi_extra={"requestBody": REQUEST_BODY},
)
def preview(
    body: Annotated[dict[str, Any], Body()],
    request: Request,
    session: WriteSessionDep,
    principal: SubmitPrincipalDep,
    budget: ComputeBudgetDep,
) -> PreviewRead:
    """What a study or a batch would change if written and included (nothing is stored)."""
    context = write_context(principal, request)
    parsed = _parse(body)
    if isinstance(parsed, StudyBatchCreate):
        return preview_studies(session, parsed.studies, context, batch=True, budget=budget)
    return preview_studies(session, [parsed], context, batch=False, budget=budget)


refuse_other_methods(router, "/preview", ["POST"])  # before /v1/studies/{study_id}


# A write session for the same reason: the include runs in a savepoint it rolls back.
@router.get(
    "/{study_id}/preview",
    response_model=PreviewRead,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def preview_stored(
    study_id: StudyId,
    request: Request,
    session: WriteSessionDep,
    principal: SubmitPrincipalDep,
    budget: ComputeBudgetDep,
) -> PreviewRead:
    """What including a stored study would change (its submitter's or a curator's view).

    The link a pending write answers with, in place of computing it during the write."""
    context = write_context(principal, request).as_preview()
    return preview_inclusion(session, study_id, context, budget=budget)
