"""A pooled answer as an R script that reproduces it with metafor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from service.api.auth import ReadAccessDep
from service.api.budget import ComputeBudgetDep
from service.api.conditional import NOT_MODIFIED, IfNoneMatch, ResultCacheDep
from service.api.deps import SessionDep, SettingsDep, run_and_finish
from service.api.exports import R_MEDIA_TYPE, file_response
from service.api.paths import Outcome
from service.api.summaries import summaries_from_docstrings
from service.schemas.common import problem_responses
from service.schemas.pooled import PooledQuery
from service.usecases.exchange import answers as exports

router = APIRouter(prefix="/v1", tags=["pooled"])
R_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An R script (metafor) with the data inline.",
        "content": {"text/x-r-source": {"schema": {"type": "string"}}},
    },
    **NOT_MODIFIED,
    **problem_responses(401, 403, 404, 422, 503),
}


@router.get("/outcomes/{outcome}/pooled/script.R", response_class=Response, responses=R_RESPONSE)
async def get_pooled_script(
    outcome: Outcome,
    query: Annotated[PooledQuery, Query()],
    session: SessionDep,
    cache: ResultCacheDep,
    settings: SettingsDep,
    _: ReadAccessDep,
    budget: ComputeBudgetDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The pooled answer as a self-contained R script (metafor::rma) with the data inline."""
    answer, script = await run_and_finish(
        exports.pooled_answer_script, session, cache, outcome, query, budget
    )
    response = file_response(
        answer,
        script,
        suffix="r-script",
        media_type=R_MEDIA_TYPE,
        private=settings.require_api_key_for_reads,
        if_none_match=if_none_match,
    )
    response.headers["Content-Disposition"] = f'inline; filename="{outcome}-pooled.R"'
    return response


summaries_from_docstrings(router)
