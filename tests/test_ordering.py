"""The run's order keeps long tests out of its last tenth (tests/support/ordering.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from tests.support.ordering import keep_long_tests_out_of_the_tail


@dataclass
class _Item:
    nodeid: str
    group: str | None
    marks: tuple[str, ...] = field(default=())

    def get_closest_marker(self, name: str) -> Any:
        return name if name in self.marks else None


def _items() -> list[_Item]:
    """30 no-DB, 30 SQLite and 40 PostgreSQL tests; long ones everywhere, the tail included."""
    groups = [None] * 30 + ["sqlite"] * 30 + ["postgresql"] * 40
    long = {5: ("slow",), 45: ("scale",), 91: ("slow",), 95: ("slow", "scale"), 99: ("slow",)}
    return [_Item(f"t{i}", group, long.get(i, ())) for i, group in enumerate(groups)]


def _ordered(items: list[_Item]) -> list[_Item]:
    ordered = list(items)
    keep_long_tests_out_of_the_tail(cast(list[pytest.Item], ordered), lambda x: x.group)
    return ordered


def test_no_long_test_is_left_in_the_last_tenth_and_none_leaves_its_group() -> None:
    before = _items()
    after = _ordered(before)
    assert sorted(x.nodeid for x in after) == sorted(x.nodeid for x in before)
    assert not [x for x in after[90:] if x.marks]
    assert [x.group for x in after] == [x.group for x in before]  # groups stay contiguous
    moved = {"t91", "t95", "t99"}
    kept = [x.nodeid for x in before if x.nodeid not in moved]
    assert [x.nodeid for x in after if x.nodeid not in moved] == kept


def test_the_order_is_the_same_in_every_worker() -> None:
    assert [x.nodeid for x in _ordered(_items())] == [x.nodeid for x in _ordered(_items())]


def test_a_group_that_lies_wholly_in_the_tail_keeps_its_long_tests_first() -> None:
    items = [_Item(f"a{i}", "sqlite") for i in range(19)] + [
        _Item("b0", "postgresql"),
        _Item("b1", "postgresql", ("slow",)),
    ]
    assert [x.nodeid for x in _ordered(items)][-2:] == ["b1", "b0"]
