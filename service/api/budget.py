"""What a request may spend on computation: lower ceilings for anonymous requests than with keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.api.auth import OptionalPrincipalDep
from service.api.deps import SettingsDep
from service.settings import Settings
from service.usecases.analyses.cost import ComputeBudget, check_cost


def budget_for(settings: Settings, *, with_key: bool) -> ComputeBudget:
    """The ceiling (in study-fits) and deadline of a request with or without an API key
    (a page signed in with a key counts as with one)."""
    return ComputeBudget(
        limit=settings.max_analysis_cost_with_key
        if with_key
        else settings.max_analysis_cost_anonymous,
        seconds=settings.analysis_deadline_seconds,
        setting="MAX_ANALYSIS_COST_WITH_KEY" if with_key else "MAX_ANALYSIS_COST_ANONYMOUS",
        with_key=with_key,
        key_limit=settings.max_analysis_cost_with_key,
    )


async def compute_budget(settings: SettingsDep, principal: OptionalPrincipalDep) -> ComputeBudget:
    """The request's ceiling (in study-fits) and deadline, from the settings and its key."""
    return budget_for(settings, with_key=principal is not None)


ComputeBudgetDep = Annotated[ComputeBudget, Depends(compute_budget)]


async def priced_analysis(request: Request, budget: ComputeBudgetDep) -> ComputeBudget:
    """The budget of ``POST /v1/analyses``, checked against the raw JSON body first.

    FastAPI solves dependencies before it validates the body, and validating 100,000 effects
    takes seconds: pricing the parsed JSON here refuses an oversized request in milliseconds.
    ``request.json()`` is the parse FastAPI already made (Starlette keeps it). Bodies this
    cannot read are left to validation; the use case checks the cost again on the valid body.
    """
    try:
        body = await request.json()
    except ValueError:
        return budget
    if isinstance(body, dict):
        rows = body.get("effects") or body.get("comparisons")
        sections = body.get("sections")
        estimator = body.get("estimator", "REML")  # the request's default
        if isinstance(rows, list) and isinstance(sections, list):
            names = [name for name in sections if isinstance(name, str)]
            check_cost(len(rows), names, budget, estimator if isinstance(estimator, str) else None)
    return budget


PricedAnalysisDep = Annotated[ComputeBudget, Depends(priced_analysis)]
