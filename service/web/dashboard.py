"""The dashboard: the summary table, an outcome's page, a study's page, the versions.

Each page calls the use cases the JSON routes call, with the reader's principal when one is
signed in, and renders plain view objects (:mod:`service.web.views`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import iter_route_contexts

from service.api.auth import viewer_of
from service.api.conditional import ResultCacheDep
from service.api.deps import SessionDep
from service.api.params import StudyId
from service.schemas.pooled import HistoryQuery, PooledQuery, TableQuery
from service.usecases.judgement.answers import pooled_history, pooled_table
from service.usecases.studies import service as studies
from service.usecases.studies.labels import vocabulary_labels
from service.usecases.studies.versions import list_versions
from service.usecases.studies.writes import study_etag
from service.usecases.surveillance.answers import pooled_with_ongoing
from service.web.session import PageReaderDep, csrf_token
from service.web.templating import render
from service.web.views import (
    Link,
    outcome_view,
    study_view,
    summary_rows,
    version_rows,
)

router = APIRouter(include_in_schema=False)
Outcome = Annotated[str, Path(max_length=64)]
VERSIONS_SHOWN = 100
OUTCOME_ROUTES = "/v1/outcomes/{outcome}/"
POOLED_ROUTE = "/v1/outcomes/{outcome}/pooled"


def _takes(route: Any, name: str) -> bool:
    """Whether ``route`` has the query parameter ``name`` (alone or in a query model)."""
    for param in route.dependant.query_params:
        fields = getattr(param.field_info.annotation, "model_fields", {})
        if param.name == name or name in fields:
            return True
    return False


def export_links(request: Request, outcome: str) -> tuple[Link, ...]:
    """The JSON answer, and the outcome's other representations the app serves (CSV when
    the pooled route takes ``format``, files such as an R script), found among its routes."""
    pooled = f"/v1/outcomes/{outcome}/pooled"
    links = [Link("Pooled result (JSON)", pooled)]
    # Route contexts, not app.routes: FastAPI keeps included routers nested.
    for route in iter_route_contexts(request.app.routes):
        path = route.path_format or ""
        if path == POOLED_ROUTE and _takes(route, "format"):
            links.append(Link("Pooled result (CSV)", f"{pooled}?format=csv"))
        elif path.startswith(OUTCOME_ROUTES) and path.lower().endswith((".csv", ".r")):
            kind = "CSV" if path.lower().endswith(".csv") else "R script"
            name = path.removeprefix(OUTCOME_ROUTES)
            links.append(Link(f"{name} ({kind})", path.replace("{outcome}", outcome)))
    return tuple(links)


@router.get("/", response_class=HTMLResponse)
def summary_page(
    request: Request, session: SessionDep, cache: ResultCacheDep, principal: PageReaderDep
) -> HTMLResponse:
    """Every outcome, overall and per category."""
    labels = vocabulary_labels(session)
    answer = pooled_table(session, cache, TableQuery())
    table = answer.body
    assert table is not None
    return render(
        request,
        "summary.html",
        principal=principal,
        evidence_version=table.evidence_version,
        checked_version=answer.checked_version,
        rows=summary_rows(table.cells, labels),
        categories=[
            labels.category(c.category) for c in table.cells if c.outcome == table.cells[0].outcome
        ],
    )


@router.get("/outcomes/{outcome}", response_class=HTMLResponse)
def outcome_page(
    outcome: Outcome,
    request: Request,
    session: SessionDep,
    cache: ResultCacheDep,
    principal: PageReaderDep,
) -> HTMLResponse:
    """One outcome: pooled result, plots, studies, history and exports."""
    conditional = pooled_with_ongoing(session, cache, outcome, PooledQuery())
    answer = conditional.body
    history = pooled_history(session, cache, outcome, HistoryQuery()).body
    assert answer is not None
    assert history is not None
    links = export_links(request, outcome)
    view = outcome_view(answer, history, links, vocabulary_labels(session))
    # The newest version, as the API's Evidence-Checked-Version header says it (issue 26: the
    # page showed only the version that last changed the outcome, one behind the API's).
    view = replace(view, checked_version=conditional.checked_version)
    return render(request, "outcome.html", principal=principal, outcome=view)


@router.get("/studies/{study_id}", response_class=HTMLResponse)
def study_page(
    study_id: StudyId, request: Request, session: SessionDep, principal: PageReaderDep
) -> HTMLResponse:
    """One study: data as reported, derived effects, warnings, versions."""
    viewer = viewer_of(principal, request.app.state.settings)
    study = studies.get_study(session, study_id, viewer=viewer)
    view = study_view(study, study_etag(study.id, study.valid_from), vocabulary_labels(session))
    return render(request, "study.html", principal=principal, study=view, csrf=csrf_token(request))


@router.get("/versions", response_class=HTMLResponse)
def versions_page(request: Request, session: SessionDep, principal: PageReaderDep) -> HTMLResponse:
    """The newest evidence versions."""
    viewer = viewer_of(principal, request.app.state.settings)
    page = list_versions(session, before=None, limit=VERSIONS_SHOWN, viewer=viewer)
    return render(request, "versions.html", principal=principal, versions=version_rows(page.items))
