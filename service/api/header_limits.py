"""431 for requests whose headers are too many or too large (RFC 6585 section 5).

The HTTP parser stops a client streaming headers before the application sees them: uvicorn's
h11 implementation closes the connection once an incomplete request head passes its
``h11_max_incomplete_event_size`` (``MAX_HEADER_BYTES``; h11's default, 16 KiB, when uvicorn
is started without it). httptools has no such limit, so it is not installed and ``make run``
and the Docker image ask for h11 by name. What passes the parser is checked here against the
settings: more than ``MAX_HEADER_COUNT`` headers, or more than ``MAX_HEADER_BYTES`` in all,
is answered 431 before any routing, authentication or database work.
"""

from __future__ import annotations

import logging
import sys

from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.middleware import send_problem

SLUG = "request-headers-too-large"
TITLE = "Request header fields too large"
logger = logging.getLogger(__name__)
# Each header line costs its name, ": ", its value and CRLF on the wire.
_LINE_OVERHEAD = 4


class HeaderLimitMiddleware:
    """Refuses, with 431, requests over ``max_count`` headers or ``max_bytes`` of them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_count: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_count = max_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            detail = self._refusal(scope.get("headers", ()))
            if detail is not None:
                await send_problem(send, scope, 431, slug=SLUG, title=TITLE, detail=detail)
                return
        await self.app(scope, receive, send)

    def _refusal(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        if len(headers) > self.max_count:
            return f"The request has {len(headers)} header fields; at most {self.max_count}."
        size = sum(len(name) + len(value) + _LINE_OVERHEAD for name, value in headers)
        if size > self.max_bytes:
            return f"The request's header fields take {size} bytes; at most {self.max_bytes}."
        return None


def warn_if_unbounded_parser() -> None:
    """Say so at start-up when uvicorn parses with httptools (left over in an environment
    installed before it was dropped): then nothing bounds a request's headers."""
    if "uvicorn.protocols.http.httptools_impl" in sys.modules:
        logger.error(
            "uvicorn is parsing HTTP with httptools, which does not limit request headers: "
            "`pip uninstall httptools` or start uvicorn with `--http h11`"
        )
