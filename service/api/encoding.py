"""Request bodies with a ``Content-Encoding``: gzip is decoded, anything else is refused (415).

Before this, a gzip body was parsed as if it were plain JSON (a confusing 422 at best). The
decoded size counts against ``MAX_BODY_BYTES`` as it is inflated, so a small compressed body
cannot expand into a large one in memory (a "zip bomb" stops at the limit with 413). RFC 9110
section 15.5.16: a 415 for an encoding names the ones accepted in ``Accept-Encoding``.
"""

from __future__ import annotations

import zlib

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.middleware import send_problem
from service.api.problems import BodyTooLargeError

GZIP = ("gzip", "x-gzip")
_PLAIN = ("", "identity")
_REMOVED = (b"content-encoding", b"content-length")


class _GzipBody:
    """Inflates a gzip body chunk by chunk, never past ``limit`` decoded bytes."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)

    def feed(self, chunk: bytes, *, last: bool) -> bytes:
        try:
            data = self._inflater.decompress(chunk, self._limit + 1 - self._size)
            if self._inflater.unconsumed_tail:
                raise BodyTooLargeError(self._limit)
            if last:
                data += self._inflater.flush()
        except zlib.error as exc:
            raise HTTPException(400, detail="The gzip request body is corrupt.") from exc
        self._size += len(data)
        if self._size > self._limit:
            raise BodyTooLargeError(self._limit)
        if last and not self._inflater.eof:
            raise HTTPException(400, detail="The gzip request body is truncated.")
        return data


class ContentEncodingMiddleware:
    """Decodes gzip request bodies; 415 for any other ``Content-Encoding``."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        encoding = Headers(scope=scope).get("content-encoding") if scope["type"] == "http" else None
        if encoding is None or encoding.strip().lower() in _PLAIN:
            await self.app(scope, receive, send)
            return
        if encoding.strip().lower() not in GZIP:
            await send_problem(
                send,
                scope,
                415,
                headers={"Accept-Encoding": "gzip"},
                detail=f"Content-Encoding {encoding[:40]!r} is not supported: send gzip or none.",
            )
            return
        body = _GzipBody(self.max_body_bytes)

        async def inflating_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                last = not message.get("more_body", False)
                message = {**message, "body": body.feed(message.get("body", b""), last=last)}
            return message

        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() not in _REMOVED]
        await self.app({**scope, "headers": headers}, inflating_receive, send)
