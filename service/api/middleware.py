"""ASGI middleware: request ids, and a last line of defence that turns crashes into problem+json.

Written as plain ASGI (not BaseHTTPMiddleware) so that it costs microseconds per request.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM_BASE

REQUEST_ID_HEADER = "x-request-id"
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
logger = logging.getLogger("service.api")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            return text if _ACCEPTABLE_REQUEST_ID.match(text) else None
    return None


def _crash_body(request_id: str, path: str) -> bytes:
    return json.dumps(
        {
            "type": PROBLEM_BASE + "internal-error",
            "title": "Internal server error",
            "status": 500,
            "detail": "An unexpected error occurred; quote the request id when reporting it.",
            "instance": path,
            "request_id": request_id,
        }
    ).encode()


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
        except Exception:
            logger.exception("unhandled error (request id %s)", request_id)
            if started:
                raise
            await self._send_crash(send_with_id, request_id, scope.get("path", ""))

    @staticmethod
    async def _send_crash(send: Send, request_id: str, path: str) -> None:
        body = _crash_body(request_id, path)
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
