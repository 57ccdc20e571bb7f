"""What a write derives from the evidence at a version, remembered for the next write.

A write's ``conclusion.changed`` reasons compare a cell's GRADE level and its sequential
monitoring status before and after the write (:mod:`service.usecases.events.judged_reasons`).
The "after" of one write is the "before" of the next write that moves the same outcome, so
remembering it halves the work of every write's events.

The "after" is computed inside the write's still open transaction, and a rolled-back write
gives its number back (:mod:`service.usecases.studies.evidence`). So an entry is keyed by the
version's number *and* its creation instant: a write that takes the same number after a
rollback has another instant and never sees the entry of the write that did not happen.
Bounded in entries, least recently used evicted first: the levels and statuses are short
strings; the monitoring looks are one small record per version, so their memo holds few.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Generic, TypeVar

from cachetools import LRUCache

MAX_DERIVED = 512
MAX_LOOK_LISTS = 16
MAX_HEADLINES = 256
V = TypeVar("V")
DerivedKey = tuple[str, str, int, datetime]
"""(what was derived, the canonical specification, version number, version created_at)."""


def derived_key(kind: str, canonical: str, number: int, created_at: datetime) -> DerivedKey:
    """The key of ``kind`` derived under ``canonical`` at one version (number and instant)."""
    return (kind, canonical, number, created_at)


class DerivedMemo(Generic[V]):
    """A thread-safe LRU map from :data:`DerivedKey` to an immutable value (cachetools'
    :class:`~cachetools.LRUCache` under a lock: it is not thread-safe on its own)."""

    def __init__(self, max_entries: int = MAX_DERIVED) -> None:
        self._entries: LRUCache[DerivedKey, tuple[V]] = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()

    def get(self, key: DerivedKey) -> tuple[V] | None:
        """``(value,)`` when remembered (the value may be ``None``), else ``None``."""
        with self._lock:
            found: tuple[V] | None = self._entries.get(key)
            return found

    def put(self, key: DerivedKey, value: V) -> None:
        with self._lock:
            self._entries[key] = (value,)

    def newest(self, kind: str, canonical: str, *, up_to: int) -> tuple[DerivedKey, V] | None:
        """The entry of ``kind`` under ``canonical`` with the highest number <= ``up_to``."""
        with self._lock:
            keys = [k for k in self._entries if k[:2] == (kind, canonical) and k[2] <= up_to]
            if not keys:
                return None
            key = max(keys, key=lambda k: k[2])
            return key, self._entries[key][0]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class HeadlineMemo:
    """Each cell's default-specification headline at a committed version, for the next one.

    A version's "after" is the next version's "before" (:mod:`.changes` and the events'
    cells): remembering it halves the fits of a backlog. Keyed by the cell's canonical
    specification and the version number: only committed versions are put, and the evidence
    at a committed version never changes (as for the selection memo). Values are the
    headline dicts; callers copy before changing one.
    """

    def __init__(self, max_entries: int = MAX_HEADLINES) -> None:
        self._entries: LRUCache[tuple[str, int], dict[str, Any]] = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()

    def get(self, canonical: str, version: int) -> dict[str, Any] | None:
        with self._lock:
            found: dict[str, Any] | None = self._entries.get((canonical, version))
            return found

    def put(self, canonical: str, version: int, headline: dict[str, Any]) -> None:
        with self._lock:
            self._entries[(canonical, version)] = headline
