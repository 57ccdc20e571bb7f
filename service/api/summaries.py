"""OpenAPI summaries from the first line of each route's docstring."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute


def summaries_from_docstrings(router: APIRouter) -> APIRouter:
    """Give every route of ``router`` without a summary its docstring's first line."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.summary is None and route.endpoint.__doc__:
            route.summary = route.endpoint.__doc__.strip().splitlines()[0].rstrip(".")
    return router
