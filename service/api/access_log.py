"""Per request: one JSON log line and the Prometheus request metrics.

Plain ASGI, like :mod:`service.api.middleware`, and placed inside it so that the request id is
known. The route is the matched template (``/v1/studies/{study_id}``), never the raw path, so
that the metrics' label sets stay bounded whatever URLs clients send; an unmatched path is
``unmatched``. The key's name is logged when a key authenticated the request (set by
:func:`service.api.auth.optional_principal`); the key itself never is.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import ACCESS_LOGGER
from service.metrics import HTTP_DURATION, HTTP_REQUESTS

logger = logging.getLogger(ACCESS_LOGGER)
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The path template of the route that took the request, or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class AccessLogMiddleware:
    """Counts, times and logs every HTTP request once its answer has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route, method = route_template(scope), scope.get("method", "")
        labels = {"route": route, "method": method, "status": str(status)}
        HTTP_REQUESTS.labels(**labels).inc()
        HTTP_DURATION.labels(**labels).observe(seconds)
        if logger.isEnabledFor(logging.INFO):
            state = scope.get("state", {})
            line = {
                "event": "request",
                "request_id": state.get("request_id"),
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "key": state.get("key_name"),
            }
            logger.info(json.dumps(line, separators=(",", ":")))
