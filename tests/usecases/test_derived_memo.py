"""The memo of what writes derive at a version: keyed by number and instant, bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.usecases.pooled.derived_memo import DerivedMemo, derived_key

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_number_reused_after_a_rollback_is_another_key() -> None:
    memo = DerivedMemo()
    memo.put(derived_key("certainty", "spec", 7, AT), "low")
    assert memo.get(derived_key("certainty", "spec", 7, AT)) == ("low",)
    assert memo.get(derived_key("certainty", "spec", 7, AT + timedelta(microseconds=1))) is None


def test_none_is_remembered_and_told_apart_from_a_miss() -> None:
    memo = DerivedMemo()
    memo.put(derived_key("certainty", "spec", 1, AT), None)
    assert memo.get(derived_key("certainty", "spec", 1, AT)) == (None,)
    assert memo.get(derived_key("monitoring", "spec", 1, AT)) is None


def test_the_least_recently_used_entry_goes_first() -> None:
    memo = DerivedMemo(max_entries=2)
    keys = [derived_key("monitoring", "spec", n, AT) for n in range(3)]
    memo.put(keys[0], "continue")
    memo.put(keys[1], "continue")
    assert memo.get(keys[0]) == ("continue",)  # now the most recently used
    memo.put(keys[2], "ris_reached")
    assert len(memo) == 2
    assert memo.get(keys[1]) is None
    assert memo.get(keys[0]) == ("continue",)
