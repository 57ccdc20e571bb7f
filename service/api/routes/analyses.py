"""``POST /v1/analyses``: meta-analyse the effects in the request; nothing is stored."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.budget import PricedAnalysisDep
from service.schemas.analyses import AnalysisRequest, AnalysisResult
from service.schemas.common import problem_responses
from service.usecases.analyses.service import run_analysis

router = APIRouter(prefix="/v1", tags=["analyses"])


# A plain ``def``: the numerical work runs in the thread pool, off the event loop.
@router.post(
    "/analyses",
    response_model=AnalysisResult,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 413, 422, 503),
)
def analyse(body: AnalysisRequest, budget: PricedAnalysisDep) -> AnalysisResult:
    """Meta-analyse the given effects or arm summaries (stateless), within the cost limits."""
    return run_analysis(body, budget)
