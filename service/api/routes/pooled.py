"""Pooled results: one outcome, the summary table, an outcome's history (all conditional GETs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from service.api.auth import ReadAccessDep
from service.api.budget import ComputeBudgetDep
from service.api.conditional import (
    NOT_MODIFIED,
    IfNoneMatch,
    ResultCacheDep,
    conditional_response,
)
from service.api.deps import SessionDep, SettingsDep, run_and_finish
from service.api.exports import CSV_RESPONSE, pooled_csv_response, wants_csv
from service.api.paths import Outcome
from service.api.summaries import summaries_from_docstrings
from service.schemas.common import problem_responses
from service.schemas.exchange import PooledExportQuery
from service.schemas.pooled import (
    HistoryQuery,
    PooledHistoryRead,
    PooledRead,
    PooledTableRead,
    TableQuery,
)
from service.schemas.pooled_view import PooledHeadlineRead
from service.usecases.judgement import answers as pooled
from service.usecases.judgement.answers import pooled_headline, pooled_result
from service.usecases.surveillance.answers import OutcomeReader, counting_ongoing

router = APIRouter(prefix="/v1", tags=["pooled"])
PROBLEMS = {**NOT_MODIFIED, **problem_responses(401, 403, 404, 422)}


# Every blocking step (the current version, the cache, the numerical work on a miss, the
# session's end) runs in the thread pool, off the event loop, in a single trip there.
@router.get(
    "/outcomes/{outcome}/pooled",
    response_model=PooledRead | PooledHeadlineRead,
    responses={**PROBLEMS, **CSV_RESPONSE, **problem_responses(503)},
)
async def get_pooled(
    outcome: Outcome,
    query: Annotated[PooledExportQuery, Query()],
    session: SessionDep,
    cache: ResultCacheDep,
    settings: SettingsDep,
    _: ReadAccessDep,
    request: Request,
    budget: ComputeBudgetDep,
    if_none_match: IfNoneMatch = None,
    accept: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """The pooled effect of one outcome, or its narrative synthesis below min_k studies."""
    # Both views count the outcome's ongoing trials (issue 28: service.usecases.surveillance).
    if wants_csv(query.format, accept):
        return await pooled_csv_response(
            session, cache, outcome, query, settings, if_none_match, budget
        )
    reader: OutcomeReader[PooledRead | PooledHeadlineRead] = (
        pooled_headline if query.view == "summary" else pooled_result
    )
    answer = await run_and_finish(
        counting_ongoing,
        session,
        cache,
        outcome,
        query,
        if_none_match=if_none_match,
        budget=budget,
        reader=reader,
    )
    # Vary: Accept too, since the same URL answers CSV to Accept: text/csv.
    request.app.state.known_urls.learn(request, answer, vary_accept=True)
    return await conditional_response(
        answer, request, private=settings.require_api_key_for_reads, vary_accept=True
    )


@router.get("/pooled", response_model=PooledTableRead, responses=PROBLEMS)
async def get_pooled_table(
    query: Annotated[TableQuery, Query()],
    session: SessionDep,
    cache: ResultCacheDep,
    settings: SettingsDep,
    _: ReadAccessDep,
    request: Request,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Every outcome, overall and in each category: status, k, estimate, CI, PI, I2."""
    answer = await run_and_finish(
        pooled.pooled_table, session, cache, query, if_none_match=if_none_match
    )
    request.app.state.known_urls.learn(request, answer)
    return await conditional_response(answer, request, private=settings.require_api_key_for_reads)


@router.get(
    "/outcomes/{outcome}/history",
    response_model=PooledHistoryRead,
    responses={**PROBLEMS, **problem_responses(503)},
)
async def get_pooled_history(
    outcome: Outcome,
    query: Annotated[HistoryQuery, Query()],
    session: SessionDep,
    cache: ResultCacheDep,
    settings: SettingsDep,
    _: ReadAccessDep,
    request: Request,
    budget: ComputeBudgetDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The pooled result after every version that changed the outcome's evidence."""
    answer = await run_and_finish(
        pooled.pooled_history,
        session,
        cache,
        outcome,
        query,
        if_none_match=if_none_match,
        budget=budget,
    )
    request.app.state.known_urls.learn(request, answer)
    return await conditional_response(answer, request, private=settings.require_api_key_for_reads)


summaries_from_docstrings(router)
