"""The screening queue: candidates found by the update bots, most relevant first.

Anyone signed in sees the queue; a key with ``curate`` gets a form per candidate to include,
exclude (with a reason from the list) or mark it maybe, which calls the use case of ``POST
/v1/candidates/{id}/screening`` with the same write context the API builds. Jinja2 escapes
every value (titles and abstracts come from outside sources); forms carry the session's CSRF
token and a POST answers with a redirect (303, post/redirect/get).
"""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from service.api.deps import SessionDep, WriteSessionDep
from service.api.writes import write_context
from service.schemas.common import MAX_ID
from service.schemas.surveillance import (
    CandidateDecision,
    Decision,
    ExclusionReason,
    ScreeningCreate,
)
from service.usecases.operations.keys import Scope
from service.usecases.surveillance import screening
from service.usecases.surveillance.prisma import prisma_counts
from service.web.session import CsrfDep, CuratorDep, PagePrincipalDep, csrf_token
from service.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = 50
REASONS = get_args(ExclusionReason)


@router.get("/screening", response_class=HTMLResponse, response_model=None)
def screening_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    decision: Annotated[CandidateDecision, Query()] = "unscreened",
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse | RedirectResponse:
    """Candidates with the given decision (default: unscreened), by relevance."""
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    candidates = screening.list_candidates(session, [decision], limit=PAGE, offset=offset)
    return render(
        request, "screening.html", principal=principal, may_curate=principal.has(Scope.CURATE),
        candidates=candidates, decision=decision, decisions=get_args(CandidateDecision),
        reasons=REASONS, counts=prisma_counts(session), csrf=csrf_token(request),
        next_offset=offset + PAGE if len(candidates) == PAGE else None,
    )  # fmt: skip


@router.post("/screening/{candidate_id}")
def screen(
    candidate_id: int,
    request: Request,
    session: WriteSessionDep,
    principal: CuratorDep,
    _: CsrfDep,
    decision: Annotated[Decision, Form()],
    reason: Annotated[ExclusionReason | None, Form()] = None,
) -> RedirectResponse:
    """Record the decision (as POST /v1/candidates/{id}/screening)."""
    body = ScreeningCreate(decision=decision, reason=reason if decision == "exclude" else None)
    screening.screen(session, candidate_id, body, write_context(principal, request))
    return RedirectResponse("/screening", status_code=303)
