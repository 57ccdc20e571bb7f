"""Curators' certainty judgements of an outcome: record one (curate scope), list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from service.api.auth import CuratePrincipalDep, ReadAccessDep
from service.api.deps import SessionDep, WriteSessionDep, run_and_finish
from service.api.idempotency import IdempotencyDep
from service.api.paths import Outcome
from service.api.writes import write_context
from service.schemas.certainty import JudgementCreate, JudgementListRead, JudgementWriteRead
from service.schemas.common import problem_responses
from service.schemas.vocabulary import CategorySlug
from service.usecases.judgement import judgements

router = APIRouter(prefix="/v1/outcomes", tags=["certainty"])


@router.post(
    "/{outcome}/judgements",
    response_model=JudgementWriteRead,
    status_code=201,
    responses=problem_responses(401, 403, 404, 422),
)
def post_judgement(
    outcome: Outcome,
    body: JudgementCreate,
    request: Request,
    session: WriteSessionDep,
    principal: CuratePrincipalDep,
    idempotency: IdempotencyDep,
) -> Response:
    """Record a curator's judgement of one GRADE domain (a new evidence version)."""
    context = write_context(principal, request)

    def produce() -> Response:
        result = judgements.record_judgement(session, outcome, body, context)
        return JSONResponse(result.model_dump(mode="json"), status_code=201)

    return idempotency.execute(produce)


@router.get(
    "/{outcome}/judgements",
    response_model=JudgementListRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_judgements(
    outcome: Outcome,
    session: SessionDep,
    _: ReadAccessDep,
    category: Annotated[CategorySlug | None, Query()] = None,
) -> JudgementListRead:
    """Every certainty judgement of an outcome (and category), oldest first."""
    result: JudgementListRead = await run_and_finish(
        judgements.list_judgements, session, outcome, category
    )
    return result
