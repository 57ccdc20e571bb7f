"""Pooled results cached by (specification, evidence version, engine version), and their ETags.

Why an in-process cache is correct with several API processes on one database: the evidence
as of a committed version never changes (revisions are only ever closed by *later* versions),
so the result of a specification at a version is fixed for a given engine. Each request reads
the current version from the database (one indexed single-row query) and only then looks up
the cache, so a process never answers from a version another process has moved past. Only
committed versions are stored: a write's own "after" result, computed inside its still open
transaction, is never cached (its number would be reused if the transaction rolled back).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TypeVar

from service.stats import ENGINE_VERSION

DEFAULT_ENTRIES = 2048
V = TypeVar("V")
Key = tuple[str, str, int, str]


def cache_key(kind: str, canonical: str, version: int) -> Key:
    """What identifies a result: its kind, canonical specification, version and engine."""
    return (kind, canonical, version, ENGINE_VERSION)


def strong_etag(key: Key) -> str:
    """A strong ETag (RFC 9110 8.8.3): equal keys give byte-identical bodies."""
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).hexdigest()[:32]
    return f'"pooled-{digest}"'


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` or ``*`` (weak comparison, RFC 9110 13.1.2)."""
    if if_none_match is None:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


class ResultCache:
    """A thread-safe LRU map of immutable results (route handlers run in a thread pool).

    Values must be immutable (frozen response models): they are shared between requests.
    """

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        self._entries: OrderedDict[Key, object] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: Key, kind: type[V]) -> V | None:
        """The value under ``key`` when it is a ``kind``, else ``None``."""
        with self._lock:
            value = self._entries.get(key)
            if not isinstance(value, kind):
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Key, value: object) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
