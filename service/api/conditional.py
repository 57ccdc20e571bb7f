"""Conditional GETs of pooled results: ETag, If-None-Match, Cache-Control.

A pooled answer is fixed by (specification, evidence version, engine version), which is what
its strong ETag encodes. An answer at the current version may change with the next write, so
caches must revalidate every time (cheap: a 304 costs one single-row query). An answer pinned
with ``as_of`` can never change, so caches may keep it for a year without asking again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response

from service.usecases.pooled.answers import Conditional
from service.usecases.pooled.cache import ResultCache

CURRENT = "max-age=0, must-revalidate"
PINNED = "max-age=31536000, immutable"
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: the ETag sent in If-None-Match is still current."}
}


async def get_result_cache(request: Request) -> ResultCache:
    cache: ResultCache = request.app.state.pooled_cache
    return cache


ResultCacheDep = Annotated[ResultCache, Depends(get_result_cache)]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=2000,
        description="An ETag from an earlier answer: 304 Not Modified while it is current.",
    ),
]


def cache_control(*, pinned: bool, private: bool) -> str:
    """``private`` when reads need an API key, so that shared caches keep nothing."""
    return f"{'private' if private else 'public'}, {PINNED if pinned else CURRENT}"


def conditional_response(answer: Conditional[Any], *, private: bool) -> Response:
    """200 with the body, or 304 without one; both carry the ETag and Cache-Control."""
    headers = {
        "ETag": answer.etag,
        "Cache-Control": cache_control(pinned=answer.pinned, private=private),
    }
    if answer.json is None:
        return Response(status_code=304, headers=headers)
    # Serialized with exclude_unset when cached: unset optional sections stay absent, exactly
    # as POST /v1/analyses leaves them out.
    return Response(answer.json, media_type="application/json", headers=headers)
