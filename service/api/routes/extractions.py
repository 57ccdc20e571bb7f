"""Dual extraction: second extractions of a study, their discrepancies, and agreement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from service.api.auth import CuratePrincipalDep, ReadAccessDep, SubmitPrincipalDep
from service.api.deps import SessionDep, WriteSessionDep, run_and_finish
from service.api.params import StudyId
from service.api.summaries import summaries_from_docstrings
from service.api.writes import write_context
from service.schemas.common import problem_responses
from service.schemas.extraction import (
    AgreementRead,
    ExtractionListRead,
    ExtractionRead,
    ResolutionCreate,
    ResolutionWriteRead,
)
from service.schemas.studies import StudyCreate
from service.usecases.extraction import service as extraction

router = APIRouter(prefix="/v1", tags=["extraction"])
WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 422)
DiscrepancyId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post(
    "/studies/{study_id}/extractions",
    status_code=201,
    response_model=ExtractionRead,
    responses=WRITE_PROBLEMS,
)
def submit_extraction(
    study_id: StudyId,
    body: StudyCreate,
    request: Request,
    session: WriteSessionDep,
    principal: SubmitPrincipalDep,
) -> ExtractionRead:
    """A second, independent extraction of a study by another key, compared field by field."""
    context = write_context(principal, request)
    return extraction.submit_extraction(session, study_id, body, context)


@router.get(
    "/studies/{study_id}/extractions",
    response_model=ExtractionListRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_extractions(
    study_id: StudyId, session: SessionDep, _: ReadAccessDep
) -> ExtractionListRead:
    """The study's second extractions with their discrepancies, both values side by side."""
    return await run_and_finish(extraction.list_extractions, session, study_id)


@router.post(
    "/studies/{study_id}/discrepancies/{discrepancy_id}/resolve",
    response_model=ResolutionWriteRead,
    responses=WRITE_PROBLEMS,
)
def resolve_discrepancy(
    study_id: StudyId,
    discrepancy_id: DiscrepancyId,
    body: ResolutionCreate,
    request: Request,
    session: WriteSessionDep,
    principal: CuratePrincipalDep,
) -> ResolutionWriteRead:
    """Resolve a discrepancy with the first value, the second, or a third (curate scope)."""
    context = write_context(principal, request)
    return extraction.resolve_discrepancy(session, study_id, discrepancy_id, body, context)


@router.get(
    "/extractions/agreement",
    response_model=AgreementRead,
    responses=problem_responses(401, 403),
)
async def get_agreement(session: SessionDep, _: ReadAccessDep) -> AgreementRead:
    """Percent agreement and Cohen's kappa (RoB domains) per pair of extractors."""
    return await run_and_finish(extraction.agreement, session)


summaries_from_docstrings(router)
