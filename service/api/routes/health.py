"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.api.auth import AdminPrincipalDep
from service.api.deps import DatabaseDep, SessionDep, run_and_finish
from service.schemas.common import problem_responses
from service.schemas.operations import ConclusionsLagRead, ConclusionsRead
from service.usecases.operations.conclusions import conclusions_status, lag_if_reachable
from service.usecases.operations.health import check_readiness

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    status: Literal["ok"]
    conclusions: ConclusionsLagRead | None = Field(
        default=None,
        description="The conclusions worker's lag; null when the database does not answer.",
    )


class ReadinessRead(BaseModel):
    status: Literal["ready"]
    database: str
    revision: str | None


@router.get("/health", response_model=HealthRead)
async def health(session: SessionDep) -> HealthRead:
    """The process is alive, and how far the conclusions worker lags (if the DB answers)."""
    return HealthRead(status="ok", conclusions=await run_in_threadpool(lag_if_reachable, session))


@router.get(
    "/v1/operations/conclusions",
    response_model=ConclusionsRead,
    responses=problem_responses(401, 403),
    tags=["operations"],
)
async def conclusions(session: SessionDep, _: AdminPrincipalDep) -> ConclusionsRead:
    """The conclusions worker: its lag and the versions whose conclusion failed (admin)."""
    return await run_and_finish(conclusions_status, session)


@router.get("/ready", response_model=ReadinessRead, responses=problem_responses(503))
async def ready(database: DatabaseDep) -> ReadinessRead:
    """The database is reachable and migrated to the newest revision."""
    readiness = await run_in_threadpool(check_readiness, database)
    return ReadinessRead(status="ready", database=readiness.backend, revision=readiness.revision)
