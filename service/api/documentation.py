"""The OpenAPI document as the API behaves: problem+json errors, and reads open to anyone.

Errors: FastAPI documents a 422 as ``application/json`` with its own ``HTTPValidationError`` body
and a declared problem as both ``application/json`` (with the schema) and
``application/problem+json`` (without). Every error this API sends is ``application/problem+json``
with the :class:`~service.schemas.common.Problem` schema, so the document says exactly that,
and a ``default`` response covers the errors any operation can meet (400 for an unreadable
body, 404 for an unknown path, 413, 429, 500).

Access, operation by operation, as the dependencies enforce it (FastAPI lists the bearer
scheme as required wherever a key is merely read):

- an operation that needs a key (a scope dependency, an authenticated principal, or a read
  while ``REQUIRE_API_KEY_FOR_READS`` is on) requires ``ApiKey``, and ``x-required-scopes``
  names the scopes (``admin`` grants every one): 401 without a key, 403 without the scope;
- every other operation has no security requirement, so that generated clients call it
  without credentials; ``x-api-key: optional`` marks those where a key changes something (a
  higher cost ceiling, unreviewed studies shown to curators), and a key that is sent must be
  valid (401 otherwise).

URL text: a URL holding NUL is refused with 400 before any route sees it
(:class:`~service.api.security.BodySizeLimitMiddleware`), so every path and query string
parameter that no pattern, enum or format already bounds says so with the pattern
``^[^\x00]*$`` (issue 25: the spec promises no more than the service keeps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from service.api.auth import authenticated_principal, optional_principal, read_access
from service.api.problems import PROBLEM_MEDIA_TYPE
from service.api.spec_components import name_components
from service.schemas.common import NUL_FREE_PATTERN, Problem
from service.usecases.operations.keys import Scope

PROBLEM_REF = "#/components/schemas/Problem"
API_KEY_SCHEME = "ApiKey"
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


def _nul_free(schema: dict[str, Any]) -> None:
    """A string that no pattern, enum or format bounds takes the NUL-free pattern."""
    bounded = {"pattern", "enum", "const", "format", "$ref"}
    if schema.get("type") == "string" and not bounded & schema.keys():
        schema["pattern"] = NUL_FREE_PATTERN
    for branch in (*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ())):
        _nul_free(branch)
    if isinstance(schema.get("items"), dict):
        _nul_free(schema["items"])


def document_url_text(document: dict[str, Any]) -> dict[str, Any]:
    """Say in each path and query parameter's schema that NUL is refused (in place)."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") in ("path", "query"):
                    _nul_free(parameter.get("schema", {}))
    return document


def _dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependencies(dependency)


@dataclass(frozen=True, slots=True)
class Access:
    """Who may call an operation: ``key`` is "required", "optional" or "none"."""

    key: str
    scopes: tuple[str, ...] = ()


def access_of(dependant: Dependant, *, keys_required_for_reads: bool) -> Access:
    """What the dependencies of an operation demand of its caller."""
    calls = list(_dependencies(dependant))
    scopes = {scope for call in calls for scope in getattr(call, "required_scopes", ())}
    if read_access in calls and keys_required_for_reads:
        scopes.add(Scope.READ.value)
    if scopes or authenticated_principal in calls:
        return Access("required", tuple(sorted(scopes)))
    return Access("optional" if optional_principal in calls else "none")


def _document_access(app: FastAPI, document: dict[str, Any], *, keys_required: bool) -> None:
    # Route contexts, not app.routes: FastAPI keeps included routers nested.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        access = access_of(route.dependant, keys_required_for_reads=keys_required)
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation.pop("security", None)
            if access.key == "required":
                operation["security"] = [{API_KEY_SCHEME: []}]
                operation["x-required-scopes"] = list(access.scopes)
            elif access.key == "optional":
                operation["x-api-key"] = "optional"


def install_documentation(app: FastAPI, *, keys_required_for_reads: bool) -> None:
    """Make ``app.openapi()`` describe errors and read access as the app handles them."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = document_problems(generate())
        _document_access(app, document, keys_required=keys_required_for_reads)
        return document_url_text(name_components(document))

    app.openapi = openapi  # type: ignore[method-assign]
