"""The audit trail (admin scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.api.auth import AdminPrincipalDep
from service.api.deps import SessionDep, run_and_finish
from service.api.pagination import decode_cursor, next_page
from service.api.summaries import summaries_from_docstrings
from service.schemas.audit import AuditEntryRead
from service.schemas.common import MAX_ID, problem_responses
from service.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT, Cursor, Page
from service.usecases.studies import versions

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryRead], responses=problem_responses(401, 403, 422))
async def list_audit_entries(
    request: Request,
    response: Response,
    session: SessionDep,
    _: AdminPrincipalDep,
    study_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this study's.")
    ] = None,
    actor: Annotated[str | None, Query(max_length=100, description="Only this key's.")] = None,
    cursor: Annotated[Cursor | None, Query(description="A page's next_cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AuditEntryRead]:
    """Every write, newest first: actor, time, request id, and the study before and after."""
    page = await run_and_finish(
        versions.list_audit,
        session,
        before=decode_cursor(cursor),
        limit=limit,
        study_id=study_id,
        actor=actor,
    )
    next_cursor = next_page(request, response, page.next_before)
    return Page[AuditEntryRead](items=list(page.items), next_cursor=next_cursor)


summaries_from_docstrings(router)
