"""The curation queue: sign in with a key, see pending studies, include or exclude them.

Include and exclude call the same use cases as ``POST /v1/studies/{id}/include`` and
``/exclude``, with a write context built from the signed-in key exactly as the API builds it
(:func:`service.api.writes.write_context`), so audit entries, versions, events and
authorization are the same whichever way a curator works. Every form carries the session's
CSRF token; the answer to a POST is a redirect (303, post/redirect/get).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from service.api.budget import budget_for
from service.api.deps import SessionDep, SettingsDep, WriteSessionDep
from service.api.params import StudyId
from service.api.writes import write_context
from service.db.repositories.studies import StudyFilters
from service.errors import AuthenticationError, InvalidInputError
from service.schemas.studies import Reason, StudyUpdate
from service.usecases.extraction import service as extraction
from service.usecases.judgement.preview import preview_inclusion
from service.usecases.operations.keys import Scope
from service.usecases.operations.sign_in import sign_in
from service.usecases.studies import curation
from service.usecases.studies import service as studies
from service.usecases.studies.duplicates import possible_duplicates
from service.usecases.studies.labels import vocabulary_labels
from service.usecases.studies.visibility import EVERYONE
from service.usecases.studies.writes import study_etag
from service.web.duplicates_view import duplicate_views
from service.web.preview_view import preview_view
from service.web.session import CsrfDep, CuratorDep, PagePrincipalDep, csrf_token, forget, remember
from service.web.templating import render
from service.web.views import (
    EDITABLE,
    StudyView,
    editable_values,
    study_view,
)

router = APIRouter(include_in_schema=False)
# A page of the queue; each study's preview is its own request (curation.js loads them one
# at a time as they scroll into view), so a long queue never runs its previews at once.
QUEUE_PAGE = 25


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, principal: PagePrincipalDep) -> HTMLResponse:
    """The sign-in form."""
    return render(
        request, "sign_in.html", principal=principal, csrf=csrf_token(request), error=None
    )


@router.post("/sign-in", response_class=HTMLResponse, response_model=None)
def sign_in_form(
    request: Request,
    session: SessionDep,
    _: CsrfDep,
    key: Annotated[str, Form(max_length=200)],
) -> HTMLResponse | RedirectResponse:
    """Check the key; on success the session remembers it and the queue opens."""
    try:
        api_key = sign_in(session, key)
    except AuthenticationError:
        return render(
            request, "sign_in.html", status_code=401, principal=None,
            csrf=csrf_token(request), error="That is not a valid API key.",
        )  # fmt: skip
    remember(request, api_key.public_id)
    return _see_other("/curate")


@router.post("/sign-out")
def sign_out(request: Request, _: CsrfDep) -> RedirectResponse:
    """Forget the session's key."""
    forget(request)
    return _see_other("/")


@router.get("/curate", response_class=HTMLResponse, response_model=None)
def queue_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    after: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse | RedirectResponse:
    """Pending studies with their data warnings, each with include and exclude forms and a
    link to its what-if preview; a page at a time, by id."""
    if principal is None:
        return _see_other("/sign-in")
    may_curate = principal.has(Scope.CURATE)
    pending: tuple[StudyView, ...] = ()
    next_after: int | None = None
    if may_curate:
        filters = StudyFilters(statuses=("pending",))
        page = studies.list_studies(
            session, filters, as_of=None, after_id=after, limit=QUEUE_PAGE, viewer=EVERYONE
        )
        labels = vocabulary_labels(session)
        pending = tuple(
            replace(
                study_view(s, study_etag(s.id, s.valid_from), labels),
                duplicates=duplicate_views(s, possible_duplicates(session, s)),
            )
            for s in page.items
        )
        next_after = page.next_after_id
    discrepancies_of = extraction.open_discrepancies(session, [s.id for s in pending])
    return render(
        request, "queue.html", principal=principal, may_curate=may_curate,
        discrepancies_of=discrepancies_of,
        pending=pending, pending_count=studies.count_studies(session).pending if may_curate else 0,
        next_after=next_after, csrf=csrf_token(request),
    )  # fmt: skip


# A write session: the preview includes the study inside a savepoint it rolls back.
@router.get("/curate/studies/{study_id}/preview", response_class=HTMLResponse)
def preview_page(
    study_id: StudyId,
    request: Request,
    session: WriteSessionDep,
    settings: SettingsDep,
    principal: CuratorDep,
) -> HTMLResponse:
    """What including the study would change (the use case of POST /v1/studies/preview)."""
    study = studies.get_study(session, study_id, viewer=EVERYONE)
    labels = vocabulary_labels(session)
    preview = preview_inclusion(
        session,
        study_id,
        write_context(principal, request),
        budget=budget_for(settings, with_key=True),
    )
    return render(
        request, "preview.html", principal=principal, csrf=csrf_token(request),
        study=study_view(study, study_etag(study.id, study.valid_from), labels),
        preview=preview_view(study_id, preview, labels),
    )  # fmt: skip


@router.post("/curate/studies/{study_id}/include")
def include(
    study_id: StudyId,
    request: Request,
    session: WriteSessionDep,
    principal: CuratorDep,
    _: CsrfDep,
    etag: Annotated[str | None, Form(max_length=100)] = None,
    reason: Annotated[Reason | None, Form()] = None,
) -> RedirectResponse:
    """Include the study (as POST /v1/studies/{id}/include; a reason when an error-level data
    warning stands)."""
    context = write_context(principal, request)
    curation.include_study(session, study_id, context, reason=reason, if_match=etag)
    return _see_other("/curate")


@router.post("/curate/studies/{study_id}/exclude")
def exclude(
    study_id: StudyId,
    request: Request,
    session: WriteSessionDep,
    principal: CuratorDep,
    _: CsrfDep,
    reason: Annotated[Reason, Form()],
    etag: Annotated[str | None, Form(max_length=100)] = None,
) -> RedirectResponse:
    """Exclude the study with the reason (as POST /v1/studies/{id}/exclude)."""
    curation.exclude_study(
        session, study_id, reason, write_context(principal, request), if_match=etag
    )
    return _see_other("/curate")


@router.get("/curate/studies/{study_id}/edit", response_class=HTMLResponse)
def edit_page(
    study_id: StudyId, request: Request, session: SessionDep, principal: CuratorDep
) -> HTMLResponse:
    """A form with the study's descriptive fields and its ETag."""
    study = studies.get_study(session, study_id, viewer=EVERYONE)  # a curator sees every study
    return render(
        request, "edit.html", principal=principal, csrf=csrf_token(request),
        study=study_view(study, study_etag(study.id, study.valid_from)),
        values=editable_values(study),
    )  # fmt: skip


def _patch(form: dict[str, str], study_id: int) -> StudyUpdate:
    # Only the fields the form has; an emptied optional field becomes null.
    fields = {name: (form.get(name) or "").strip() or None for name, _ in EDITABLE}
    try:
        return StudyUpdate.model_validate(fields)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidInputError(
            f"Study {study_id} cannot take these values.", errors=errors
        ) from exc


@router.post("/curate/studies/{study_id}/edit")
async def edit(
    study_id: StudyId,
    request: Request,
    session: WriteSessionDep,
    principal: CuratorDep,
    _: CsrfDep,
) -> RedirectResponse:
    """Change the study (as PATCH /v1/studies/{id} with If-Match: the form's ETag)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    patch = _patch(values, study_id)
    context = write_context(principal, request)
    await run_in_threadpool(
        studies.update_study, session, study_id, patch, context, if_match=values.get("etag")
    )
    return _see_other(f"/studies/{study_id}")
