"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service.api.deps import DatabaseDep
from service.schemas.common import problem_responses
from service.usecases.operations.health import check_readiness

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    status: Literal["ok"]


class ReadinessRead(BaseModel):
    status: Literal["ready"]
    database: str
    revision: str | None


@router.get("/health", response_model=HealthRead)
async def health() -> HealthRead:
    """The process is alive (touches nothing else)."""
    return HealthRead(status="ok")


@router.get("/ready", response_model=ReadinessRead, responses=problem_responses(503))
async def ready(database: DatabaseDep) -> ReadinessRead:
    """The database is reachable and migrated to the newest revision."""
    readiness = await run_in_threadpool(check_readiness, database)
    return ReadinessRead(status="ready", database=readiness.backend, revision=readiness.revision)
