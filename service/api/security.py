"""ASGI middleware for hostile clients: body size limit, security headers, CORS.

Plain ASGI, like :mod:`service.api.middleware`, so that neither costs more than microseconds.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_compress import CompressMiddleware

from service.api.access_log import AccessLogMiddleware
from service.api.compression import MINIMUM_SIZE
from service.api.encoding import ContentEncodingMiddleware
from service.api.header_limits import HeaderLimitMiddleware
from service.api.middleware import RequestContextMiddleware, send_problem
from service.api.problems import (
    BODY_TOO_LARGE_SLUG,
    BODY_TOO_LARGE_TITLE,
    BodyTooLargeError,
    body_too_large_detail,
)
from service.settings import Settings

# OWASP REST Security Cheat Sheet, "Security headers": a JSON API is never framed, never
# rendered as a document and never cached by default.
_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_ALWAYS = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)
SECURITY_HEADERS = frozenset(
    [name for name, _ in _ALWAYS] + ["content-security-policy", "cache-control"]
)
"""The response headers :class:`SecurityHeadersMiddleware` may add."""


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _url_has_nul(scope: Scope) -> bool:
    # PostgreSQL cannot hold NUL in text, so a NUL in a path or query parameter would reach
    # the database as an error. Nothing in this API has a use for one: refuse it up front.
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_body_bytes`` with 413, whether or not their length is declared.

    It also refuses, with 400, URLs that hold a NUL character.

    A declared ``Content-Length`` over the limit is refused before a byte is read. A chunked
    body (or one that lies about its length) is counted as it streams in, and reading stops
    with :class:`BodyTooLargeError` at the first chunk past the limit, so that no more than
    ``max_body_bytes`` plus one chunk is ever held in memory.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _url_has_nul(scope):
            await send_problem(
                send, scope, 400, detail="The URL must not contain NUL (%00) characters."
            )
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send, scope)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLargeError(self.max_body_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLargeError:
            # FastAPI's handlers answer it when it surfaces while parsing; this is for
            # code that reads the body outside them.
            if started:
                raise
            await self._refuse(send, scope)

    async def _refuse(self, send: Send, scope: Scope) -> None:
        await send_problem(
            send,
            scope,
            413,
            slug=BODY_TOO_LARGE_SLUG,
            title=BODY_TOO_LARGE_TITLE,
            detail=body_too_large_detail(self.max_body_bytes),
            max_body_bytes=self.max_body_bytes,
        )


class SecurityHeadersMiddleware:
    """Adds security headers to every response, and ``Cache-Control: no-store`` unless set.

    The Content-Security-Policy allows nothing at all unless the route set its own (the
    pages of :mod:`service.web` do, allowing this origin's scripts and images only).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS:
                    headers[name] = value
                headers.setdefault("content-security-policy", _API_CSP)
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


# What a browser app on an allowed origin may send and read: the API's own request and
# response headers. No credentials mode: keys travel in Authorization, never in cookies.
_CORS_METHODS = ("GET", "POST", "PATCH", "DELETE")
_CORS_REQUEST_HEADERS = (
    "Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match",
    "X-Request-ID",
)  # fmt: skip
_CORS_EXPOSED_HEADERS = (
    "ETag", "Link", "Location", "Retry-After", "X-Request-ID", "Idempotent-Replayed",
    "Evidence-Checked-Version",
)  # fmt: skip


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Add the middleware stack; from the outside in: security headers, request id, header
    limits, the access log and request metrics, CORS
    (only when ``cors_allow_origins`` names an origin), body size limit, gzip decoding of
    request bodies, compression of responses."""
    app.add_middleware(CompressMiddleware, minimum_size=MINIMUM_SIZE)
    app.add_middleware(ContentEncodingMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=_CORS_METHODS,
            allow_headers=_CORS_REQUEST_HEADERS,
            expose_headers=_CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(
        HeaderLimitMiddleware,
        max_bytes=settings.max_header_bytes,
        max_count=settings.max_header_count,
    )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
