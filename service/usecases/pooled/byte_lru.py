"""A least recently used map bounded in bytes that always keeps its newest entry.

cachetools' :class:`~cachetools.LRUCache` bounds the sum of ``getsizeof(value)`` by ``maxsize``
and refuses (``ValueError``) a value larger than ``maxsize``. The pooled caches promise to keep
their newest entry whatever its size: it is what the next request (or the next write's delta)
asks for. So a value is *charged* at most the budget: storing one that large evicts every other
entry, and storing anything after it evicts it, which is what the hand-written caches did
("evict the least recently used while over budget and more than one entry is held", issue 23).
:attr:`ByteLRU.bytes` still reports the true size.

Not thread-safe, as cachetools is not: its owners call it under their lock.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import Cache, LRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLRU(LRUCache[K, V], Generic[K, V]):
    """An LRU map whose values weigh ``measure(value)`` bytes, at most ``max_bytes`` in all
    unless a single value is larger (then it is held alone)."""

    def __init__(self, max_bytes: int, measure: Callable[[V], int]) -> None:
        # Every value and the budget are charged at least a byte: a value charged nothing would
        # never make room for another, and one held beside an oversize value breaks the bound.
        self._budget = max(max_bytes, 1)
        self._measure = measure
        super().__init__(maxsize=self._budget, getsizeof=self._charge)

    def _charge(self, value: V) -> int:
        return min(max(self._measure(value), 1), self._budget)

    @property
    def bytes(self) -> int:
        """The bytes held: the sum of the values' sizes, an oversize one counted in full."""
        if len(self) == 1 and self.currsize >= self._budget:
            (value,) = self.values()  # the only entry: making it the most recent changes nothing
            return self._measure(value)
        return int(self.currsize)

    def peek(self, key: K) -> V | None:
        """The value under ``key``, without making it the most recently used."""
        return Cache.__getitem__(self, key) if key in self else None
