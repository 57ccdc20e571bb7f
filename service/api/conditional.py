"""Conditional GETs of pooled results: ETag, If-None-Match, Cache-Control.

A pooled answer is fixed by (specification, evidence version, engine version), which is what
its strong ETag encodes. An answer at the current version may change with the next write, so
caches must revalidate every time (cheap: a 304 costs one single-row query). An answer pinned
with ``as_of`` can never change, so caches may keep it for a year without asking again.
The version in the ETag is the last one that changed the answer's evidence, so a write that
does not (a pending submission, another outcome) leaves the ETag, and the 304s, as they were.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response

from service.api.compression import (
    MINIMUM_SIZE,
    encoded_body,
    negotiate,
    representation_etag,
)
from service.usecases.judgement.answers import Conditional
from service.usecases.pooled.cache import ResultCache

CHECKED_VERSION = "Evidence-Checked-Version"
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


async def conditional_response(
    answer: Conditional[Any], request: Request, *, private: bool, vary_accept: bool = False
) -> Response:
    """200 with the body, or 304 without one; both carry the ETag and Cache-Control.

    The body is compressed when the client accepts an encoding and it is large enough,
    from the cache entry's compressed copy (made once). ``Evidence-Checked-Version`` is the
    version the answer was checked at; the body's ``evidence_version`` is the last one that
    changed its evidence, so that the body (and its ETag) stays the same in between.
    ``vary_accept``: the route also answers other media types to ``Accept`` (CSV).
    """
    encoding = negotiate(request.headers)
    compressed = None
    if answer.json is not None and answer.entry is not None and compresses(encoding, answer.json):
        assert encoding is not None
        compressed = await encoded_body(answer.entry, encoding)
    status, headers, body = representation(
        answer, encoding=encoding, private=private, compressed=compressed, vary_accept=vary_accept
    )
    return Response(body, status_code=status, headers=headers)


def compresses(encoding: str | None, body: bytes) -> bool:
    """Whether ``body`` is sent compressed to a client that accepts ``encoding``."""
    return encoding is not None and len(body) >= MINIMUM_SIZE


def representation(
    answer: Conditional[Any],
    *,
    encoding: str | None,
    private: bool,
    compressed: bytes | None,
    vary_accept: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of ``answer`` (``compressed``: its body in ``encoding``)."""
    headers = {
        "ETag": representation_etag(answer.etag, encoding),
        "Cache-Control": cache_control(pinned=answer.pinned, private=private),
    }
    if answer.checked_version is not None:
        headers[CHECKED_VERSION] = str(answer.checked_version)
    accept = "Accept, " if vary_accept else ""
    if answer.json is None:
        return 304, {**headers, "Vary": f"{accept}Accept-Encoding"}, b""
    # Serialized with exclude_unset when cached: unset optional sections stay absent, exactly
    # as POST /v1/analyses leaves them out.
    headers["Content-Type"] = "application/json"
    if compressed is not None and encoding is not None:
        headers |= {"Content-Encoding": encoding, "Vary": f"{accept}Accept-Encoding"}
        return 200, headers, compressed
    if len(answer.json) < MINIMUM_SIZE:
        headers["Vary"] = f"{accept}Accept-Encoding"
    elif vary_accept:
        headers["Vary"] = "Accept"  # the compression middleware appends Accept-Encoding
    return 200, headers, answer.json
