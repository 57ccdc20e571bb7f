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
import sys
import threading
from dataclasses import dataclass, field
from typing import TypeVar

from service.metrics import CACHE_LOOKUPS
from service.schemas.common import ReadModel
from service.stats import ENGINE_VERSION
from service.usecases.pooled.addenda import AddendumStamps
from service.usecases.pooled.byte_lru import ByteLRU
from service.usecases.pooled.effects import SelectionMemo
from service.usecases.pooled.outcome_versions import OutcomeVersions
from service.usecases.pooled.sizing import deep_size
from service.usecases.pooled.study_rows import StudyRows

DEFAULT_BYTES = 128 * 1024 * 1024
ENTRY_OVERHEAD = 1024
V = TypeVar("V", bound=ReadModel)
Key = tuple[str, str, int, str]
ENCODING_SUFFIXES = ('-zstd"', '-br"', '-gzip"')


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
    candidates = [_identity_tag(tag.strip().removeprefix("W/")) for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def _identity_tag(tag: str) -> str:
    # A compressed representation's ETag ends in its encoding (see service.api.compression).
    for encoding in ENCODING_SUFFIXES:
        if tag.endswith(encoding):
            return tag.removesuffix(encoding) + '"'
    return tag


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached answer and its JSON, serialized once: a hit costs no serialization either.

    Its compressed forms are added later, by :meth:`remember`, and counted in its cache's bytes.
    """

    value: ReadModel
    json: bytes
    key: Key | None = None
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False)
    """``json`` compressed, by encoding; filled in when first asked for."""

    weight: int = 0
    """The bytes it held when stored, measured (:func:`~.sizing.deep_size`), encodings aside."""

    owner: ResultCache | None = field(default=None, compare=False, repr=False)

    def remember(self, encoding: str, body: bytes) -> None:
        """Keep ``body``, ``json`` in ``encoding``, and count its bytes in the cache."""
        if self.owner is None:
            self.encoded.setdefault(encoding, body)
        else:
            self.owner.add_encoding(self, encoding, body)


def _held_bytes(entry: Entry) -> int:
    """What ``entry`` holds: its measured weight, its compressed copies and their dict."""
    copies = sum(sys.getsizeof(body) for body in entry.encoded.values())
    return entry.weight + sys.getsizeof(entry.encoded) + copies


class ResultCache:
    """A thread-safe LRU map of immutable answers, bounded by their approximate size.

    Bounded in bytes, not entries: one answer can hold a thousand studies with their
    leave-one-out rows, another a handful of numbers (a :class:`~.byte_lru.ByteLRU`: the
    newest entry is kept even when larger than the budget). Route handlers run in a thread
    pool, hence the lock. Values must be immutable (frozen response models): requests share them.
    """

    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self._entries: ByteLRU[Key, Entry] = ByteLRU(max_bytes, _held_bytes)
        self._lock = threading.Lock()
        self.selections = SelectionMemo()
        """The selected effects behind the answers (see :mod:`service.usecases.pooled.effects`)."""
        self.outcome_versions = OutcomeVersions()
        """The versions answers are keyed by (see :mod:`.outcome_versions`)."""
        self.addenda = AddendumStamps()
        """The stamps of what answers add after the cache (see :mod:`.addenda`)."""
        self.study_rows = StudyRows()
        """The study rows of the answers computed, for the next version's (:mod:`.study_rows`)."""

    def entry(self, key: Key) -> Entry | None:
        """The entry under ``key``, now the most recently used."""
        with self._lock:
            found = self._entries.get(key)
        CACHE_LOOKUPS.labels(result="miss" if found is None else "hit").inc()
        return found

    def get(self, key: Key, kind: type[V]) -> V | None:
        """The value under ``key`` when it is a ``kind``, else ``None``."""
        found = self.entry(key)
        return found.value if found is not None and isinstance(found.value, kind) else None

    @property
    def total_bytes(self) -> int:
        """The measured bytes of every entry held: answers, JSON, compressed copies, keys."""
        with self._lock:
            return self._entries.bytes

    def put(self, key: Key, value: ReadModel) -> Entry:
        """Store ``value`` (serialized as the API sends it) and evict the least recently used."""
        json = value.model_dump_json(exclude_unset=True).encode()
        weight = ENTRY_OVERHEAD + deep_size(value) + sys.getsizeof(json) + deep_size(key)
        entry = Entry(value, json, key, weight=weight, owner=self)
        with self._lock:
            self._entries[key] = entry
        return entry

    def add_encoding(self, entry: Entry, encoding: str, body: bytes) -> None:
        """Keep ``entry``'s JSON compressed as ``body``, counting its bytes while it is cached.

        The first copy of an encoding wins (two requests may race to compress it).
        """
        with self._lock:
            if encoding in entry.encoded:
                return
            entry.encoded[encoding] = body
            if entry.key is None or self._entries.peek(entry.key) is not entry:
                return  # evicted meanwhile: it goes when its last reader lets it go
            # Stored again so that cachetools charges the copy, evicting the least recently used
            # to make room; it becomes the most recently used, as it is: it is being sent.
            self._entries[entry.key] = entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
