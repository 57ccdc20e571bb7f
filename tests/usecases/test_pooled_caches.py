"""The result cache and the selection memo on cachetools (issue 23): what the budget and memory
tests (test_memory_budget, test_pooled_selection) do not already pin down."""

from __future__ import annotations

import threading

from service.metrics import CACHE_LOOKUPS
from service.schemas.common import ReadModel
from service.usecases.pooled.cache import ResultCache, cache_key
from service.usecases.pooled.effects import Effects, SelectionMemo
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.sizing import sample_size

A, B, C = (cache_key("pooled", name, 1) for name in "abc")


class Note(ReadModel):
    text: str


def _note_bytes() -> int:
    return ResultCache().put(A, Note(text="x" * 90)).weight


def _effect(i: int) -> StudyEffect:
    return StudyEffect(
        study_id=i, label=f"Author {i}", year=2000 + i % 20, category="peer-group",
        design="randomized", randomized=True, comparator="waiting-list",
        quality="moderate", timepoint_weeks=12.0, timepoint_label="post",
        instruments=("bes",), participants=80, yi=0.01 * i, vi=0.02,
    )  # fmt: skip


def _effects(k: int) -> Effects:
    return tuple(_effect(i) for i in range(k))


def _lookups(result: str) -> float:
    value: float = CACHE_LOOKUPS.labels(result=result)._value.get()
    return value


def test_compressed_copies_count_until_their_entry_is_evicted() -> None:
    budget = 2 * _note_bytes() + _note_bytes() // 2  # room for two notes
    cache, twin = ResultCache(max_bytes=budget), ResultCache(max_bytes=budget)
    entry = cache.put(A, Note(text="A" * 90))
    before = cache.total_bytes
    entry.remember("gzip", b"z" * 100)
    assert cache.total_bytes > before + 100
    cache.put(B, Note(text="B" * 90))
    cache.put(C, Note(text="C" * 90))  # evicts A with its copy
    twin.put(B, Note(text="B" * 90))
    twin.put(C, Note(text="C" * 90))
    assert cache.entry(A) is None
    assert cache.total_bytes == twin.total_bytes
    entry.remember("br", b"b" * 100)  # evicted meanwhile: kept by the entry, not counted
    assert entry.encoded["br"] == b"b" * 100
    assert cache.total_bytes == twin.total_bytes


def test_an_entry_its_copies_take_past_the_budget_is_kept_alone() -> None:
    budget = 2 * _note_bytes() + _note_bytes() // 2
    cache = ResultCache(max_bytes=budget)
    entry = cache.put(A, Note(text="A" * 90))
    cache.put(B, Note(text="B" * 90))
    assert cache.entry(A) is entry  # being sent: the most recently used
    entry.remember("br", b"x" * 2 * budget)
    assert len(cache) == 1
    assert cache.entry(A) is entry
    assert cache.total_bytes > 2 * budget  # its true size, not the budget it is charged
    cache.put(C, Note(text="C" * 90))  # anything stored after it evicts it
    assert len(cache) == 1
    assert cache.entry(A) is None
    assert cache.total_bytes <= budget


def test_a_zero_budget_keeps_only_the_newest_answer() -> None:
    cache = ResultCache(max_bytes=0)
    cache.put(A, Note(text="a"))
    cache.put(B, Note(text="b"))
    assert len(cache) == 1
    assert cache.get(B, Note) == Note(text="b")


def test_lookups_count_hits_and_misses() -> None:
    cache = ResultCache()
    cache.put(A, Note(text="a"))
    hits, misses = _lookups("hit"), _lookups("miss")
    assert cache.entry(A) is not None
    assert cache.entry(B) is None
    assert cache.get(C, Note) is None
    assert (_lookups("hit") - hits, _lookups("miss") - misses) == (1, 2)


def test_concurrent_puts_and_copies_stay_within_the_budget() -> None:
    budget = 5 * _note_bytes()
    cache = ResultCache(max_bytes=budget)

    def work(worker: int) -> None:
        for n in range(300):
            key = cache_key("pooled", f"{worker}-{n % 9}", 1)
            entry = cache.entry(key) or cache.put(key, Note(text=str(n) * 40))
            entry.remember("gzip", b"g" * 50)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= len(cache) <= 5
    assert cache.total_bytes <= budget


def test_newest_finds_the_highest_held_version_not_above() -> None:
    memo = SelectionMemo()
    for version in (5, 1, 3):
        memo.put("a", version, _effects(version))
    memo.put("b", 4, _effects(4))
    assert memo.newest("a", 4) == (3, _effects(3))
    assert memo.newest("a", 99) == (5, _effects(5))
    assert memo.newest("a", 0) is None
    assert memo.newest("c", 9) is None


def test_an_evicted_version_is_no_longer_found() -> None:
    memo = SelectionMemo(max_entries=2)
    memo.put("a", 1, _effects(1))
    memo.put("a", 2, _effects(2))
    assert memo.newest("a", 1) == (1, _effects(1))  # now the most recently used
    memo.put("a", 3, _effects(3))  # evicts version 2
    assert len(memo) == 2
    assert memo.newest("a", 2) == (1, _effects(1))
    assert memo.newest("a", 3) == (3, _effects(3))


def test_a_selection_larger_than_the_budget_is_kept_alone() -> None:
    small, large = _effects(2), _effects(400)
    budget = 3 * sample_size(small)
    memo = SelectionMemo(max_entries=10, max_bytes=budget)
    memo.put("a", 1, small)
    memo.put("b", 1, small)
    memo.put("c", 1, large)
    assert len(memo) == 1
    assert memo.newest("c", 1) == (1, large)
    assert memo.bytes == sample_size(large) > budget
    memo.put("a", 2, small)  # anything stored after it evicts it
    assert len(memo) == 1
    assert memo.newest("c", 1) is None
    assert memo.bytes == sample_size(small)


def test_storing_a_version_again_replaces_it_once() -> None:
    memo = SelectionMemo(max_entries=2)
    memo.put("a", 1, _effects(1))
    memo.put("a", 1, _effects(3))  # a second request computed the same selection
    assert len(memo) == 1
    assert memo.bytes == sample_size(_effects(3))
    assert memo.newest("a", 1) == (1, _effects(3))
    memo.put("a", 2, _effects(2))
    memo.put("a", 3, _effects(2))  # evicts version 1, indexed once
    assert memo.newest("a", 1) is None
