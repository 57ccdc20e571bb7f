"""405 answers that list every method the path allows (RFC 9110 section 15.5.6).

Starlette answers 405 with the methods of the first route whose path matched, so
``OPTIONS /v1/studies`` said only ``POST`` although ``GET`` is served too. The full list is
found by asking every route whether it would take the path with each method.
"""

from __future__ import annotations

from typing import Any, NoReturn

from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class MethodNotAllowedError(HTTPException):
    """A 405 raised by a route on purpose, with the methods its path allows."""

    def __init__(self, allow: str) -> None:
        super().__init__(status_code=405, headers={"Allow": allow})


def allowed_methods(app: Any, scope: Scope) -> str:
    """Every method some route of ``app`` serves at the request's path, for ``Allow``."""
    routes = app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


def refuse_method(allow: str) -> NoReturn:
    """Raise the 405 of a path that serves only ``allow``."""
    raise MethodNotAllowedError(allow)
