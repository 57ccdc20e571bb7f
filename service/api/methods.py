"""405 answers that list every method the path allows (RFC 9110 section 15.5.6).

Starlette answers 405 with the methods of the first route whose path matched, so
``OPTIONS /v1/studies`` said only ``POST`` although ``GET`` is served too. The full list is
found by asking every route whether it would take the path with each method.

A literal path shadows a template: ``/v1/studies/counts`` is served by its own route, and
``PATCH /v1/studies/{study_id}`` taking "counts" as an id is a 422, not a method served there.
So only the methods of the most literal routes that match the path are listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class MethodNotAllowedError(HTTPException):
    """A 405 raised by a route on purpose, with the methods its path allows."""

    def __init__(self, allow: str) -> None:
        super().__init__(status_code=405, headers={"Allow": allow})


def _literal_segments(route: Any) -> int:
    path: str = getattr(route, "path", "")
    return sum(1 for part in path.split("/") if part and "{" not in part)


def allowed_methods(app: Any, scope: Scope) -> str:
    """Every method the most literal routes of ``app`` matching the path serve, for ``Allow``."""
    serving: list[tuple[str, int]] = []
    for method in METHODS:
        literal = [
            _literal_segments(route)
            for route in app.router.routes
            if route.matches({**scope, "method": method})[0] is Match.FULL
        ]
        if literal:
            serving.append((method, max(literal)))
    best = max((literal for _, literal in serving), default=0)
    return ", ".join(method for method, literal in serving if literal == best)


def refuse_method(allow: str) -> NoReturn:
    """Raise the 405 of a path that serves only ``allow``."""
    raise MethodNotAllowedError(allow)


def refuse_other_methods(router: APIRouter, path: str, served: Sequence[str]) -> None:
    """Answer 405 to every method ``path`` does not serve, before a template route below it
    (``/{study_id}``) takes the literal segment for a parameter and answers 422."""
    allow = ", ".join(served)

    async def other_methods() -> None:
        refuse_method(allow)

    others = [method for method in METHODS if method not in served]
    router.add_api_route(
        path, other_methods, methods=others, include_in_schema=False, name=f"refuse{path}"
    )
