"""Sequential monitoring: stateless group sequential boundaries, and an outcome's monitoring."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.api.auth import ReadAccessDep
from service.api.budget import ComputeBudgetDep
from service.api.conditional import ResultCacheDep
from service.api.deps import SessionDep, run_and_finish
from service.api.paths import Outcome
from service.schemas.common import problem_responses
from service.schemas.sequential import (
    BoundariesRead,
    BoundariesRequest,
    MonitoringQuery,
    MonitoringRead,
)
from service.usecases.judgement.monitoring import monitoring
from service.usecases.judgement.sequential import sequential_boundaries

router = APIRouter(prefix="/v1", tags=["sequential"])


# A plain ``def``: the numerical integration runs in the thread pool, off the event loop.
@router.post(
    "/sequential/boundaries", response_model=BoundariesRead, responses=problem_responses(413, 422)
)
def post_sequential_boundaries(body: BoundariesRequest) -> BoundariesRead:
    """Lan-DeMets group sequential boundaries (O'Brien-Fleming or Pocock) for given looks."""
    return sequential_boundaries(body)


@router.get(
    "/outcomes/{outcome}/monitoring",
    response_model=MonitoringRead,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_monitoring(
    outcome: Outcome,
    query: Annotated[MonitoringQuery, Query()],
    session: SessionDep,
    _: ReadAccessDep,
    budget: ComputeBudgetDep,
    cache: ResultCacheDep,
) -> MonitoringRead:
    """Trial sequential monitoring of an outcome's living estimate (a decision aid)."""
    result: MonitoringRead = await run_and_finish(
        monitoring, session, outcome, query, budget=budget, cache=cache
    )
    return result
