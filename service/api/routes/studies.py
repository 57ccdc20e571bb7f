"""Studies: add one or a batch, update, read one, and list, as of any evidence version."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from service.api.auth import ReadAccessDep, StudyViewerDep, SubmitPrincipalDep
from service.api.deps import SessionDep, WriteSessionDep, run_and_finish
from service.api.exports import CSV_MEDIA_TYPE, CSV_RESPONSE, wants_csv
from service.api.idempotency import IdempotencyDep
from service.api.methods import refuse_other_methods
from service.api.pagination import decode_cursor, next_page
from service.api.params import StudyId
from service.api.summaries import summaries_from_docstrings
from service.api.writes import (
    Include,
    changes_link,
    changes_path,
    selections,
    study_write_response,
    with_pooled_changes,
    write_context,
)
from service.db.repositories.studies import StudyFilters
from service.schemas.common import MAX_ID, problem_responses
from service.schemas.exchange import StudyListExportQuery
from service.schemas.pagination import Page
from service.schemas.studies import (
    StudyBatchCreate,
    StudyBatchWriteRead,
    StudyCreate,
    StudyRead,
    StudyUpdate,
    StudyWriteRead,
)
from service.schemas.study_counts import StudyCountsRead
from service.usecases.exchange import answers as exports
from service.usecases.pooled.changes import pooled_changes, previewed_changes
from service.usecases.studies import service as studies
from service.usecases.studies.writes import study_etag

router = APIRouter(prefix="/v1/studies", tags=["studies"])
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=500,
        description="The study's ETag, as GET returned it (optimistic concurrency).",
    ),
]
AsOf = Annotated[int | None, Query(ge=0, le=MAX_ID, description="An evidence version number.")]
WRITE_PROBLEMS = problem_responses(401, 403, 409, 422)


@router.post(
    "",
    status_code=201,
    response_model=StudyWriteRead,
    responses=WRITE_PROBLEMS,
)
def create_study(
    body: StudyCreate,
    request: Request,
    session: WriteSessionDep,
    principal: SubmitPrincipalDep,
    idempotency: IdempotencyDep,
    include: Include = None,
) -> Response:
    """Add a study with its arms and outcome results; effect sizes are derived on write."""
    context = write_context(principal, request)

    def produce() -> Response:
        if include is None:
            return study_write_response(studies.create_study(session, body, context), created=True)
        memo = selections(request)
        preview = None
        if not context.trusted_with_evidence:
            preview = previewed_changes(session, [body], context, selections=memo)
        result = with_pooled_changes(session, studies.create_study(session, body, context), memo)
        if preview is not None and result.study.status == "pending":
            result = replace(result, pooled_changes=preview)
        return study_write_response(result, created=True)

    return idempotency.execute(produce)


@router.post(
    "/batch",
    status_code=201,
    response_model=StudyBatchWriteRead,
    responses=WRITE_PROBLEMS,
)
def create_studies(
    body: StudyBatchCreate,
    request: Request,
    session: WriteSessionDep,
    principal: SubmitPrincipalDep,
    idempotency: IdempotencyDep,
    include: Include = None,
) -> Response:
    """Add up to 1,000 studies in one evidence version: all of them or none."""
    context = write_context(principal, request)

    def produce() -> Response:
        changes = None
        if include is not None and not context.trusted_with_evidence:
            changes = previewed_changes(
                session, body.studies, context, selections=selections(request)
            )
        result = studies.create_studies(session, body.studies, context)
        version = result.evidence_version
        if include is not None and changes is None:
            changes = tuple(
                pooled_changes(
                    session, result.outcomes, version=version, selections=selections(request)
                )
            )
        read = StudyBatchWriteRead(
            evidence_version=version,
            studies=[],
            pooled_changes=None if changes is None else list(changes),
            changes=changes_path(version),
        )
        content = read.model_dump(mode="json")
        content["studies"] = list(result.studies_json)  # dumped once, as the audit has them
        headers = {"Location": f"/v1/versions/{version}", "Link": changes_link(version)}
        return JSONResponse(content, status_code=201, headers=headers)

    return idempotency.execute(produce)


# Declared before the "/{study_id}" routes, which would otherwise read "batch" as an id (422).
refuse_other_methods(router, "/batch", ["POST"])


@router.get(
    "",
    response_model=Page[StudyRead],
    responses={**problem_responses(401, 403, 404, 422), **CSV_RESPONSE},
)
async def list_studies(
    query: Annotated[StudyListExportQuery, Query()],
    request: Request,
    response: Response,
    session: SessionDep,
    viewer: StudyViewerDep,
    accept: Annotated[str | None, Header(max_length=1000)] = None,
) -> Page[StudyRead] | Response:
    """Studies by id, filtered; withdrawn ones only when asked for by status.

    Pending and excluded studies are listed only to their submitter and to curators, unless the
    service makes them public (UNREVIEWED_STUDIES_PUBLIC).
    """
    filters = StudyFilters(
        outcomes=query.outcome,
        categories=query.category,
        designs=query.design,
        statuses=query.status,
        year_from=query.year_from,
        year_to=query.year_to,
        text=query.q,
        registration_id=query.registration_id,
        doi=query.doi,
    )
    if wants_csv(query.format, accept):
        # Every matching study, not one page: a file to open in R or a spreadsheet.
        text = await run_and_finish(
            exports.studies_as_csv,
            session,
            filters,
            as_of=query.as_of,
            dialect=query.dialect,
            viewer=viewer,
        )
        return Response(text, media_type=CSV_MEDIA_TYPE, headers={"Vary": "Accept"})
    page = await run_and_finish(
        studies.list_studies,
        session,
        filters,
        as_of=query.as_of,
        after_id=decode_cursor(query.cursor),
        limit=query.limit,
        viewer=viewer,
    )
    cursor = next_page(request, response, page.next_after_id)
    response.headers["Vary"] = "Accept"  # the same URL answers CSV to Accept: text/csv
    return Page[StudyRead](items=list(page.items), next_cursor=cursor)


@router.get("/counts", response_model=StudyCountsRead, responses=problem_responses(401, 403))
async def count_studies(session: SessionDep, _: ReadAccessDep) -> StudyCountsRead:
    """How many studies are pending, included, excluded and withdrawn (always public)."""
    return await run_and_finish(studies.count_studies, session)


refuse_other_methods(router, "/counts", ["GET"])


@router.get(
    "/{study_id}", response_model=StudyRead, responses=problem_responses(401, 403, 404, 422)
)
async def get_study(
    study_id: StudyId,
    response: Response,
    session: SessionDep,
    viewer: StudyViewerDep,
    as_of: AsOf = None,
) -> StudyRead:
    """One study, as it is now or as it was at an earlier evidence version (as_of)."""
    study = await run_and_finish(studies.get_study, session, study_id, as_of=as_of, viewer=viewer)
    response.headers["ETag"] = study_etag(study.id, study.valid_from)
    return study


@router.patch(
    "/{study_id}",
    response_model=StudyWriteRead,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
def update_study(
    study_id: StudyId,
    body: StudyUpdate,
    request: Request,
    session: WriteSessionDep,
    principal: SubmitPrincipalDep,
    idempotency: IdempotencyDep,
    if_match: IfMatch = None,
    include: Include = None,
) -> Response:
    """Change a study (If-Match required); arms and results are replaced as a whole."""
    context = write_context(principal, request)

    def produce() -> Response:
        result = studies.update_study(session, study_id, body, context, if_match=if_match)
        if include is not None:
            result = with_pooled_changes(session, result, selections(request))
        return study_write_response(result)

    return idempotency.execute(produce)


summaries_from_docstrings(router)
