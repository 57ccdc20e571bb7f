"""The evidence history: one version per committed write."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.api.auth import ReadAccessDep, StudyViewerDep
from service.api.deps import SessionDep, run_and_finish
from service.api.pagination import decode_cursor, next_page
from service.api.params import VersionNumber
from service.api.summaries import summaries_from_docstrings
from service.schemas.common import problem_responses
from service.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT, Cursor, Page
from service.schemas.versions import (
    EvidenceVersionDetail,
    EvidenceVersionRead,
    VersionChangesRead,
)
from service.usecases.pooled.changes import version_changes
from service.usecases.studies import versions

router = APIRouter(prefix="/v1/versions", tags=["versions"])


@router.get(
    "", response_model=Page[EvidenceVersionRead], responses=problem_responses(401, 403, 422)
)
async def list_versions(
    request: Request,
    response: Response,
    session: SessionDep,
    viewer: StudyViewerDep,
    outcome: Annotated[
        str | None, Query(max_length=64, description="Only versions that touched it.")
    ] = None,
    cursor: Annotated[Cursor | None, Query(description="A page's next_cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[EvidenceVersionRead]:
    """Evidence versions, newest first."""
    page = await run_and_finish(
        versions.list_versions,
        session,
        before=decode_cursor(cursor),
        limit=limit,
        outcome=outcome,
        viewer=viewer,
    )
    next_cursor = next_page(request, response, page.next_before)
    return Page[EvidenceVersionRead](items=list(page.items), next_cursor=next_cursor)


@router.get(
    "/{number}", response_model=EvidenceVersionDetail, responses=problem_responses(401, 403, 404)
)
async def get_version(
    number: VersionNumber, session: SessionDep, viewer: StudyViewerDep
) -> EvidenceVersionDetail:
    """One evidence version and what it changed, study by study.

    Summaries quote titles and reasons: readers who may not see unreviewed studies get one
    without free text (unless they wrote the version)."""
    return await run_and_finish(versions.get_version, session, number, viewer=viewer)


@router.get(
    "/{number}/changes",
    response_model=VersionChangesRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_version_changes(
    number: VersionNumber, request: Request, session: SessionDep, _: ReadAccessDep
) -> VersionChangesRead:
    """What one version did to the pooled results: before and after, per outcome.

    The write's pooled_changes: concluded by the worker after the write, or computed now."""
    memo = request.app.state.pooled_cache.selections
    return await run_and_finish(version_changes, session, number, selections=memo)


summaries_from_docstrings(router)
