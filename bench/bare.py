"""The limit of the stack: bare Starlette serving fixed bytes, no middleware, no database.

``uvicorn bench.bare:app`` with ``BARE_BODY`` (a file holding the body) and ``BARE_ETAG``: every
GET answers that body with that ETag, or a 304 when ``If-None-Match`` names it. The service's
cached pooled GET and its 304s are compared with this (:mod:`bench.stack`).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = Path(os.environ.get("BARE_BODY", "/dev/null")).read_bytes()
ETAG = os.environ.get("BARE_ETAG", '"bare"')


async def answer(request: Request) -> Response:
    if request.headers.get("if-none-match") == ETAG:
        return Response(status_code=304, headers={"ETag": ETAG})
    return Response(BODY, media_type="application/json", headers={"ETag": ETAG})


async def ready(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(routes=[Route("/ready", ready), Route("/{path:path}", answer)])
