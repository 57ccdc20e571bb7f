"""The run's order: no long test in its last tenth (issue 24).

pytest-xdist hands a worker its next test when the worker is nearly out of work, so the run
ends when the last long test given out ends, while the other worker has nothing left to do: a
9-11 s test drawn near the end of the random order left a core idle for ~10 s (measured: one
worker finished 10.5 s before the other). Long tests (marked ``slow`` or ``scale``) found in
the last tenth of the order move to a place earlier in their backend's group, chosen from
their node id, so that every xdist worker, ordering the same collection, gets the same order.
They are not all put first: run together they slow each other (tests/conftest.py says how
much), and a random order spreads them among light tests.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable

import pytest

TAIL = 0.1
LONG_MARKS = ("slow", "scale")


def is_long(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(mark) is not None for mark in LONG_MARKS)


def keep_long_tests_out_of_the_tail(
    items: list[pytest.Item], group_of: Callable[[pytest.Item], Hashable]
) -> None:
    """Move each long test in the last tenth of ``items`` earlier within its group."""
    cutoff = len(items) - int(len(items) * TAIL)
    moving = [item for item in items[cutoff:] if is_long(item)]
    for item in moving:
        items.remove(item)
    for item in moving:
        items.insert(_earlier_place(items, item, group_of, cutoff), item)


def _earlier_place(
    items: list[pytest.Item],
    item: pytest.Item,
    group_of: Callable[[pytest.Item], Hashable],
    cutoff: int,
) -> int:
    group = group_of(item)
    first = next((i for i, other in enumerate(items) if group_of(other) == group), len(items))
    if first >= cutoff:  # the whole group lies in the tail: its start is the earliest place
        return first
    return first + zlib.crc32(item.nodeid.encode()) % (cutoff - first)
