"""Unknown query parameters are refused on every route, not only where a model forbids them.

A misspelt filter (``?categroy=peer-group``) silently ignored gives a wrong answer that looks
right, and 10,000 ignored parameters cost parsing for nothing. The allowed names of a route are
the query parameters FastAPI itself collected from it and its dependencies (the fields of a
``Query()`` model included), read once per route.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

# Kept on the route itself (APIRoute is unhashable, so no weak mapping): a cache keyed by
# id(route) gave a route built after an earlier application was collected the dead route's
# names whenever Python reused the id (tests/api/test_query_parameter_names.py).
_DECLARED = "_declared_query_parameters"


def _names(field: Any) -> set[str]:
    """A query parameter's name, or every field of a ``Query()`` model."""
    annotation = field.field_info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {info.alias or name for name, info in annotation.model_fields.items()}
    return {field.alias}


def _declared(route: APIRoute) -> frozenset[str]:
    known: frozenset[str] | None = getattr(route, _DECLARED, None)
    if known is None:
        known = _collect(route)
        setattr(route, _DECLARED, known)
    return known


def _collect(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        for field in dependant.query_params:
            names |= _names(field)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def refuse_unknown_query_parameters(request: Request) -> None:
    """422 naming every query parameter the route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    allowed = _declared(route)
    unknown = sorted({name for name in request.query_params if name not in allowed})
    if not unknown:
        return
    takes = ", ".join(sorted(allowed)) or "none"
    raise RequestValidationError(
        [
            {
                "loc": ("query", name),
                "msg": f"unknown query parameter; this route takes: {takes}",
                "type": "extra_forbidden",
            }
            for name in unknown
        ]
    )
