"""The OpenAPI document as the API behaves: problem+json errors, and reads open to anyone.

Errors: FastAPI documents a 422 as ``application/json`` with its own ``HTTPValidationError`` body
and a declared problem as both ``application/json`` (with the schema) and
``application/problem+json`` (without). Every error this API sends is ``application/problem+json``
with the :class:`~service.schemas.common.Problem` schema, so the document says exactly that,
and a ``default`` response covers the errors any operation can meet (400 for an unreadable
body, 404 for an unknown path, 413, 429, 500).

Reads: a read route accepts an API key but, unless ``REQUIRE_API_KEY_FOR_READS`` is set,
does not need one. FastAPI lists its security scheme as required; the document adds the
empty requirement that OpenAPI uses for "or no authentication at all".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from service.api.auth import read_access
from service.api.problems import PROBLEM_MEDIA_TYPE
from service.schemas.common import Problem

PROBLEM_REF = "#/components/schemas/Problem"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_DEFAULT = {
    "description": "Any other error (such as 400, 404, 413, 429 or 500), as a problem document.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
}


def _is_problem(response: dict[str, Any]) -> bool:
    content = response.get("content", {})
    if PROBLEM_MEDIA_TYPE in content:
        return True
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return bool(ref.endswith("/HTTPValidationError"))


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``document``'s error responses in place (idempotent) and return it."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if str(status)[0] in "45" and _is_problem(response):
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
            responses.setdefault("default", _DEFAULT)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema(ref_template=PROBLEM_REF))
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _open_reads(app: FastAPI, document: dict[str, Any]) -> None:
    # Route contexts, not app.routes: FastAPI keeps included routers nested.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        if not _depends_on(route.dependant, read_access):
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None and {} not in operation.get("security", [{}]):
                operation["security"].append({})


def install_documentation(app: FastAPI, *, keys_required_for_reads: bool) -> None:
    """Make ``app.openapi()`` describe errors and read access as the app handles them."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = document_problems(generate())
        if not keys_required_for_reads:
            _open_reads(app, document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
