"""Surveillance: bots post search runs and candidates (``submit``), curators screen them
(``curate``); anyone may read the queue, the PRISMA counts and the ongoing trials."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from service.api.auth import CuratePrincipalDep, ReadAccessDep, SubmitPrincipalDep
from service.api.deps import SessionDep, WriteSessionDep
from service.api.paths import Outcome
from service.api.summaries import summaries_from_docstrings
from service.api.writes import write_context
from service.plots.data import PrismaData
from service.plots.formats import ImageFormat
from service.schemas.common import MAX_ID, problem_responses
from service.schemas.surveillance import (
    CandidateBatch,
    CandidateBatchRead,
    CandidateDecision,
    CandidateOutcome,
    CandidateRead,
    OngoingRead,
    OngoingTrialRead,
    PrismaRead,
    ScreeningCreate,
    ScreeningRead,
    SearchRunCreate,
    SearchRunFinish,
    SearchRunRead,
)
from service.usecases.surveillance import runs, screening
from service.usecases.surveillance.ongoing import expected_by, ongoing_of_outcome
from service.usecases.surveillance.prisma import prisma_counts

router = APIRouter(prefix="/v1", tags=["surveillance"])
RunId = Annotated[int, Path(ge=1, le=MAX_ID)]
CandidateId = Annotated[int, Path(ge=1, le=MAX_ID)]
WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 422)


@router.post(
    "/search-runs",
    response_model=SearchRunRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422),
)
def start_search_run(
    body: SearchRunCreate, session: WriteSessionDep, principal: SubmitPrincipalDep
) -> SearchRunRead:
    """Start a search run; its window starts at the last successful run's end (watermark)."""
    return SearchRunRead.model_validate(runs.start_run(session, body, principal.name))


@router.get("/search-runs", response_model=list[SearchRunRead], responses=problem_responses(401))
def list_search_runs(
    session: SessionDep,
    _: ReadAccessDep,
    source: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SearchRunRead]:
    """The newest search runs first, with their windows and counts."""
    rows = runs.list_runs(session, limit=limit, source=source)
    return [SearchRunRead.model_validate(row) for row in rows]


@router.post(
    "/search-runs/{run_id}/candidates", response_model=CandidateBatchRead, responses=WRITE_PROBLEMS
)
def post_candidates(
    run_id: RunId, body: CandidateBatch, session: WriteSessionDep, _: SubmitPrincipalDep
) -> CandidateBatchRead:
    """Post up to 200 found records: each is cleaned, deduplicated and queued for screening."""
    run, outcomes = runs.submit(session, run_id, body.candidates)
    return CandidateBatchRead(
        run=SearchRunRead.model_validate(run),
        candidates=[CandidateOutcome.model_validate(o, from_attributes=True) for o in outcomes],
    )


@router.post("/search-runs/{run_id}/finish", response_model=SearchRunRead, responses=WRITE_PROBLEMS)
def finish_search_run(
    run_id: RunId, body: SearchRunFinish, session: WriteSessionDep, _: SubmitPrincipalDep
) -> SearchRunRead:
    """Finish a run: succeeded moves the watermark, failed leaves it for the next run."""
    return SearchRunRead.model_validate(runs.finish_run(session, run_id, body))


@router.get("/candidates", response_model=list[CandidateRead], responses=problem_responses(401))
def list_candidates(
    session: SessionDep,
    _: ReadAccessDep,
    decision: Annotated[list[CandidateDecision] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[CandidateRead]:
    """The screening queue, most relevant first (filter by decision, e.g. unscreened)."""
    rows = screening.list_candidates(session, decision, limit=limit, offset=offset)
    return [CandidateRead.model_validate(row) for row in rows]


@router.get(
    "/candidates/{candidate_id}",
    response_model=CandidateRead,
    responses=problem_responses(401, 404),
)
def get_candidate(
    candidate_id: CandidateId, session: SessionDep, _: ReadAccessDep
) -> CandidateRead:
    """One candidate with its ids, registry facts, draft, warnings and decision."""
    return CandidateRead.model_validate(screening.get_candidate(session, candidate_id))


@router.post(
    "/candidates/{candidate_id}/screening", response_model=ScreeningRead, responses=WRITE_PROBLEMS
)
def screen_candidate(
    candidate_id: CandidateId,
    body: ScreeningCreate,
    request: Request,
    session: WriteSessionDep,
    principal: CuratePrincipalDep,
) -> ScreeningRead:
    """Screen a candidate: include (a pending study), exclude with a reason, or maybe."""
    done = screening.screen(session, candidate_id, body, write_context(principal, request))
    return ScreeningRead(
        candidate=CandidateRead.model_validate(done.candidate),
        evidence_version=done.evidence_version,
    )


@router.get("/prisma", response_model=PrismaRead, responses=problem_responses(401))
def prisma(session: SessionDep, _: ReadAccessDep) -> PrismaRead:
    """PRISMA 2020 flow counts of the living review's searches."""
    return prisma_counts(session)


@router.get(
    "/prisma/diagram.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **problem_responses(401)},
)
def prisma_svg(session: SessionDep, _: ReadAccessDep) -> Response:
    """The PRISMA 2020 flow diagram of the living review's searches (SVG)."""
    # Imported here, not at the top: the drawing module loads matplotlib (over a second),
    # which only a plot needs, and this module is imported at every start (issue 24).
    from service.plots.prisma import prisma_diagram

    counts = prisma_counts(session)
    data = PrismaData(
        identified=counts.identified,
        duplicates_removed=counts.duplicates_removed,
        screened=counts.screened,
        awaiting=counts.awaiting,
        excluded=counts.excluded,
        included=counts.included,
        studies_in_review=counts.studies_in_review,
        ongoing=counts.ongoing,
        identified_by_source=counts.identified_by_source,
        excluded_by_reason=counts.excluded_by_reason,
    )
    return Response(prisma_diagram(data, ImageFormat.SVG), media_type="image/svg+xml")


@router.get(
    "/outcomes/{outcome}/ongoing", response_model=OngoingRead, responses=problem_responses(401, 404)
)
def ongoing(outcome: Outcome, session: SessionDep, _: ReadAccessDep) -> OngoingRead:
    """Registered trials of the outcome that have not reported results yet."""
    trials = ongoing_of_outcome(session, outcome)
    items = [OngoingTrialRead.model_validate({**_fields(t), "candidate_id": t.id}) for t in trials]
    return OngoingRead(
        outcome=outcome, count=len(items), statement=expected_by(trials), trials=items
    )


def _fields(row: object) -> dict[str, object]:
    names = ("nct_id", "title", "registry_status", "completion_date", "outcomes")
    return {name: getattr(row, name) for name in names}


summaries_from_docstrings(router)
