"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.methods import MethodNotAllowedError, allowed_methods
from service.api.validation_messages import friendly
from service.db.outages import is_outage
from service.errors import PROBLEM_BASE, ServiceError, capped_errors, fields_detail
from service.schemas.required_fields import field_message

PROBLEM_MEDIA_TYPE = "application/problem+json"
STUDIES_PATH = "/v1/studies"
BODY_TOO_LARGE_SLUG = "body-too-large"
BODY_TOO_LARGE_TITLE = "Request body too large"
# What a problem document echoes back is capped (issue 13): a string at 300 characters, a list
# at 100 items (issue 12 caps a 422 at 50 errors before it gets here).
MAX_ECHOED_CHARS = 300
MAX_ECHOED_ITEMS = 100
MAX_DETAIL_CHARS = 4_000
_ENUM_ERRORS = frozenset({"literal_error", "enum"})
OWN_TEXT = frozenset({"message", "suggestion", "plausible", "hint"})  # the service's words
DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE: dict[str, Any] = {
    "slug": "database-unavailable",
    "title": "Database unavailable",
    "detail": "The database cannot be reached right now; retry after Retry-After seconds.",
    "retry_after": DATABASE_RETRY_AFTER_SECONDS,
}
logger = logging.getLogger("service.api")


class BodyTooLargeError(StarletteHTTPException):
    """A request body over the limit (413); an HTTPException so that FastAPI lets it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=body_too_large_detail(limit))
        self.limit = limit


def body_too_large_detail(limit: int) -> str:
    return f"The request body is larger than the limit of {limit} bytes."


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    slug: str | None = None,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; ``type`` is a stable URI per kind of problem."""
    instance = request_id = None
    if request is not None:
        instance = request.url.path
        request_id = getattr(request.state, "request_id", None)
    body = problem_body(
        status,
        title=title,
        detail=detail,
        slug=slug,
        instance=instance,
        request_id=request_id,
        **extra,
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_body(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    slug: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The problem document itself, for code that answers below the framework (middleware)."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if instance is not None:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    capped: dict[str, Any] = bounded(body)
    # The detail is the service's own sentence (which may quote a field name or two): longer.
    capped["detail"] = _cut(body["detail"], MAX_DETAIL_CHARS)
    return capped


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... (shortened; {len(text):,} characters)"


def bounded(value: Any) -> Any:
    """``value`` with every string cut to :data:`MAX_ECHOED_CHARS` and every list to
    :data:`MAX_ECHOED_ITEMS`, so that no problem document is much larger than its request
    (a field name of a megabyte is echoed in ``location``, ``field`` and ``detail``).

    The service's own sentences (:data:`OWN_TEXT` members: messages, suggestions) are not
    echoed input: they keep up to :data:`MAX_DETAIL_CHARS`, so advice is never cut off
    (issue 26: a 300-character cap cut the fix out of the plausibility messages). A cut
    string says it was shortened and how long it was."""
    if isinstance(value, str):
        return _cut(value, MAX_ECHOED_CHARS)
    if isinstance(value, dict):
        return {
            bounded(key): _cut(item, MAX_DETAIL_CHARS)
            if key in OWN_TEXT and isinstance(item, str)
            else bounded(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        # Cut without a marker item, which would break the list's schema (errors are objects).
        return [bounded(item) for item in value[:MAX_ECHOED_ITEMS]]
    return value


def _field_errors(exc: RequestValidationError, *, study_body: bool) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        field = ".".join(location[1:]) if len(location) > 1 else ".".join(location)
        message = field_message(error) if study_body else str(error.get("msg", "invalid value"))
        better = friendly(error, exc.body)
        if better is not None:
            field, message = better
        errors.append(
            {
                "location": location,
                "field": field,
                "message": message,
                "type": str(error.get("type", "value_error")),
            }
        )
    return errors


async def _on_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    headers = exc.extra.pop("headers", None)
    extra = dict(exc.extra)
    if isinstance(extra.get("errors"), list):
        extra.update(capped_errors(extra["errors"]))
    return problem_response(
        exc.status,
        title=exc.title,
        detail=exc.detail,
        slug=exc.slug,
        request=request,
        headers=headers,
        **extra,
    )


def path_not_found(request: Request, errors: list[dict[str, Any]]) -> JSONResponse | None:
    """404 when a path parameter is outside its enumeration (``/v1/outcomes/happiness``):
    the path names no resource, whatever else the request gets wrong. The message lists the
    allowed values and the nearest (:mod:`service.api.validation_messages`), as the use
    cases' own 404 did before the spec stated the vocabulary (issue 25)."""
    missing = [e for e in errors if e["location"][:1] == ["path"] and e["type"] in _ENUM_ERRORS]
    if not missing:
        return None
    detail = " ".join(f"No such {e['field']}: {e['message']}" for e in missing)
    return problem_response(404, detail=detail, request=request, errors=missing)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Under /v1/studies a body is a study (or a batch of them, a patch, a preview): a missing
    # key is explained, not just "Field required".
    errors = _field_errors(exc, study_body=request.url.path.startswith(STUDIES_PATH))
    not_found = path_not_found(request, errors)
    if not_found is not None:
        return not_found
    prefix = _content_type_hint(request, errors)
    return problem_response(
        422,
        title="The request is not valid",
        slug="validation-error",
        detail=fields_detail(prefix, errors),
        request=request,
        **capped_errors(errors),
    )


def _content_type_hint(request: Request, errors: list[dict[str, Any]]) -> str:
    """A body sent without ``Content-Type: application/json`` is not read as JSON: say so."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return ""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type.lower():
        return ""
    if not any(e["location"][:1] == ["body"] for e in errors):
        return ""
    sent = f"'{content_type}'" if content_type else "none"
    return (
        f"The body was not read as JSON (Content-Type: {sent}): send it with the header "
        "'Content-Type: application/json'. "
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and not isinstance(exc, MethodNotAllowedError):
        headers["Allow"] = allowed_methods(request.app, request.scope)
    return problem_response(exc.status_code, detail=detail, request=request, headers=headers)


async def _on_body_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLargeError)
    return problem_response(
        413,
        title=BODY_TOO_LARGE_TITLE,
        detail=body_too_large_detail(exc.limit),
        slug=BODY_TOO_LARGE_SLUG,
        request=request,
        max_body_bytes=exc.limit,
    )


def note_outage(app: Any, error: BaseException) -> bool:
    """Whether ``error`` is a database outage; the first of an outage is logged (once)."""
    if not is_outage(error):
        return False
    database = getattr(getattr(app, "state", None), "database", None)
    if database is not None:
        database.outages.failed(error)
    return True


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if note_outage(request.app, exc):
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        return problem_response(503, request=request, headers=headers, **DATABASE_UNAVAILABLE)
    logger.exception(
        "unhandled error", extra={"request_id": getattr(request.state, "request_id", None)}
    )
    return problem_response(
        500,
        detail="An unexpected error occurred; quote the request id when reporting it.",
        request=request,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every kind of error through :func:`problem_response`."""
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(BodyTooLargeError, _on_body_too_large)
    app.add_exception_handler(Exception, _on_unexpected_error)
