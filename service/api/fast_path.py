"""The cheap read path: cached pooled answers and 304s answered below FastAPI's routing.

Apps poll the same few URLs. Once a URL has been answered through its route, the canonical
specification behind it is remembered (:class:`KnownUrls`); the next anonymous GET of the
same path and query string is answered here, on the event loop, from four things in memory
and one cheap read: the newest committed version (and the candidates' write counter, in the
same row) from :mod:`service.db.head_probe`, the effective version from the outcome-version
memo, the stamp of what the answer adds after the cache at that state (the ongoing trials of
issue 28: :mod:`service.usecases.pooled.addenda`), and the cached entry (or only its ETag,
for a 304). No request validation, dependency resolution, session or thread-pool trip is
needed for what the route already worked out; status, headers and body are those the route
sends (:func:`service.api.conditional.representation`), and the outer middleware (request
id, security headers, CORS) still runs.

Whatever is not known goes through the route as before: a new URL, a request with
credentials, reads that need a key, a version or a candidates' write not yet seen by a route
of this process, an answer not in the cache (or not yet compressed in the encoding asked
for), or a probe that fails.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.compression import negotiate
from service.api.conditional import compresses, representation
from service.usecases.judgement.answers import AnswerKey, Conditional
from service.usecases.pooled.addenda import State, with_stamp
from service.usecases.pooled.cache import ResultCache, cache_key, none_match, strong_etag

MAX_URLS = 1024
UrlKey = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class KnownUrl:
    """What a URL's route found, and whether its representation depends on ``Accept``."""

    key: AnswerKey
    vary_accept: bool


def _mentions_csv(headers: Headers) -> bool:
    # Conservative: any mention of CSV in Accept is for the route to negotiate.
    return "csv" in headers.get("accept", "").lower()


class KnownUrls:
    """An LRU map from (path, raw query string) to the :class:`AnswerKey` its route found
    (cachetools' :class:`~cachetools.LRUCache`, under a lock)."""

    def __init__(self, max_urls: int = MAX_URLS) -> None:
        self._urls: LRUCache[UrlKey, KnownUrl] = LRUCache(maxsize=max_urls)
        self._lock = threading.Lock()

    def get(self, url: UrlKey) -> KnownUrl | None:
        with self._lock:
            return self._urls.get(url)

    def learn(
        self, request: Request, answer: Conditional[Any], *, vary_accept: bool = False
    ) -> None:
        """Remember what the route answered ``request`` with (anonymous JSON answers only).

        ``vary_accept``: the route answers CSV to ``Accept: text/csv`` (and says so in Vary).
        """
        if answer.key is None or "authorization" in request.headers:
            return
        if vary_accept and _mentions_csv(request.headers):
            return
        url = (request.url.path, request.scope.get("query_string", b""))
        with self._lock:
            self._urls[url] = KnownUrl(answer.key, vary_accept)


class PooledFastPath:
    """ASGI middleware: known pooled URLs answered from memory when that is certain."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not await self._answer(scope, send)
        ):
            await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send) -> bool:
        state = scope["app"].state
        url = (scope["path"], scope.get("query_string", b""))
        known = state.known_urls.get(url)
        probe = state.head_probe
        if known is None or probe is None or state.settings.require_api_key_for_reads:
            return False
        headers = Headers(scope=scope)
        if "authorization" in headers or (known.vary_accept and _mentions_csv(headers)):
            return False
        read = await probe.state()
        if read is None:
            return False
        answer = _known_answer(state.pooled_cache, known.key, read, headers.get("if-none-match"))
        if answer is None:
            return False
        encoding = negotiate(headers)
        compressed = None
        if answer.entry is not None and encoding and compresses(encoding, answer.entry.json):
            compressed = answer.entry.encoded.get(encoding)
            if compressed is None:
                return False  # the route compresses it, once, in the thread pool
        status, fields, body = representation(
            answer,
            encoding=encoding,
            private=False,
            compressed=compressed,
            vary_accept=known.vary_accept,
        )
        raw = [(name.lower().encode(), value.encode()) for name, value in fields.items()]
        if status == 200:
            raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
        return True


def _known_answer(
    cache: ResultCache, looked_up: AnswerKey, read: State, if_none_match: str | None
) -> Conditional[Any] | None:
    """The answer at ``read`` (the newest version and the candidates' counter) when memory
    alone gives it (a 304 needs no entry), else None."""
    head = read[0]
    if looked_up.as_of is not None and looked_up.as_of > head:
        return None
    checked = head if looked_up.as_of is None else looked_up.as_of
    version = cache.outcome_versions.known(looked_up.outcomes, checked, head=head)
    canonical = _canonical(cache, looked_up, read)
    if version is None or canonical is None:
        return None
    key = cache_key(looked_up.kind, canonical, version)
    etag = strong_etag(key)
    pinned = looked_up.as_of is not None
    if none_match(if_none_match, etag):
        return Conditional(etag, version, pinned, None, checked_version=checked)
    entry = cache.entry(key)
    if entry is None:
        return None
    return Conditional(
        etag, version, pinned, entry.value, json=entry.json, checked_version=checked, entry=entry
    )


def _canonical(cache: ResultCache, looked_up: AnswerKey, read: State) -> str | None:
    """The key's specification, with the stamp of its addendum worked out at ``read`` (the
    ongoing trials of issue 28); ``None`` when the route has not worked it out at ``read``."""
    if looked_up.addendum is None:
        return looked_up.canonical
    if looked_up.outcomes is None or len(looked_up.outcomes) != 1:
        return None  # addenda are about one outcome; anything else is for the route
    stamp = cache.addenda.known(read, looked_up.addendum, looked_up.outcomes[0])
    return None if stamp is None else with_stamp(looked_up.canonical, stamp)
