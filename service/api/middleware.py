"""ASGI middleware: request ids, and a last line of defence that turns crashes into problem+json.

Written as plain ASGI (not BaseHTTPMiddleware) so that it costs microseconds per request.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import (
    DATABASE_RETRY_AFTER_SECONDS,
    DATABASE_UNAVAILABLE,
    PROBLEM_MEDIA_TYPE,
    note_outage,
    problem_body,
)

REQUEST_ID_HEADER = "x-request-id"
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
logger = logging.getLogger("service.api")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            return text if _ACCEPTABLE_REQUEST_ID.match(text) else None
    return None


async def send_problem(
    send: Send,
    scope: Scope,
    status: int,
    *,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> None:
    """Answer with a problem+json document from ASGI code, below FastAPI's handlers."""
    request_id = scope.get("state", {}).get("request_id")
    document = problem_body(status, instance=scope.get("path", ""), request_id=request_id, **fields)
    body = json.dumps(document).encode()
    extra = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Gives every request an id (the client's ``X-Request-ID`` when sane) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            # A commit that fails in a dependency's teardown (the database went away) ends here.
            if not started and note_outage(scope.get("app"), error):
                retry = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
                await send_problem(send_with_id, scope, 503, headers=retry, **DATABASE_UNAVAILABLE)
                return
            logger.exception("unhandled error (request id %s)", request_id)
            if started:
                raise
            await send_problem(
                send_with_id,
                scope,
                500,
                slug="internal-error",
                title="Internal server error",
                detail="An unexpected error occurred; quote the request id when reporting it.",
            )
