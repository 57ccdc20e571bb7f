"""The in-process caches stay within their budgets in real bytes (issue 13, item 6).

Measured with tracemalloc, which counts every allocation Python makes: what the caches hold
once the callers have dropped their references must stay within the budget (plus a margin for
the containers themselves). Before, an answer weighed four times its JSON (the model objects
are more like ten to twenty times) and the selection memo counted entries, not bytes.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from service.api.compression import PREFERENCE, compress
from service.schemas.analyses import AnalysisRequest
from service.usecases.analyses.service import run_analysis
from service.usecases.pooled.cache import ResultCache, cache_key
from service.usecases.pooled.effects import SelectionMemo
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.sizing import deep_size, sample_size

MB = 1024 * 1024


def _retained(build: Callable[[], Any]) -> tuple[Any, int]:
    """What ``build()`` returns, and the bytes still allocated once it has returned."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        value = build()
        gc.collect()
        return value, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def _answer(seed: int, k: int = 300) -> Any:
    rng = np.random.default_rng(seed)
    effects = [
        {"label": f"Study {seed}-{i}", "yi": float(y), "vi": float(v)}
        for i, (y, v) in enumerate(
            zip(rng.normal(0.3, 0.2, k), rng.uniform(0.01, 0.1, k), strict=True)
        )
    ]
    return run_analysis(AnalysisRequest.model_validate({"effects": effects, "estimator": "DL"}))


def _effects(seed: int, k: int = 2_000) -> tuple[StudyEffect, ...]:
    fixed = ("randomized", True, "waiting-list", "moderate", 12.0, "post", ("bes",))
    return tuple(
        StudyEffect(
            i,
            f"Author {seed} {i} (#{i})",
            2000 + i % 20,
            f"group-{seed}",
            *fixed,
            80 + i,
            0.01 * i,
            0.02,
        )
        for i in range(k)
    )


def test_deep_size_agrees_with_what_python_allocated() -> None:
    # First calls import and cache what they need (not the answer's memory): when this test ran
    # first in its process, that counted 231 KB against the answer's 196 KB (a CI run).
    _answer(99)
    _effects(99)
    answer, allocated = _retained(lambda: _answer(1))
    assert 0.85 * allocated <= deep_size(answer) <= 1.15 * allocated
    effects, allocated = _retained(lambda: _effects(1))
    assert allocated <= sample_size(effects) <= 2.5 * allocated  # errs on the high side


def test_the_result_cache_holds_its_budget_in_real_bytes() -> None:
    budget = MB

    def fill() -> ResultCache:
        cache = ResultCache(max_bytes=budget)
        for seed in range(12):  # about 0.2 MB each, 2.4 MB in all
            cache.put(cache_key("pooled", f"spec-{seed}", 1), _answer(seed))
        return cache

    _answer(99)  # first calls import and cache what they need: not the cache's memory
    cache, retained = _retained(fill)
    assert 2 <= len(cache) < 12
    assert retained <= 1.15 * budget


def test_the_selection_memo_holds_its_budget_in_bytes() -> None:
    budget = 2 * MB

    def fill() -> SelectionMemo:
        memo = SelectionMemo(max_entries=100, max_bytes=budget)
        for seed in range(8):  # about 0.8 MB each
            memo.put(f"selection-{seed}", 1, _effects(seed))
        return memo

    memo, retained = _retained(fill)
    assert 1 <= len(memo) < 8
    assert memo.bytes <= budget
    assert retained <= 1.1 * budget


def _compressed_copies(entry: Any) -> None:
    """What serving the entry to zstd, brotli and gzip clients keeps (service.api.compression)."""
    for encoding in PREFERENCE:
        entry.remember(encoding, compress(entry.json, encoding))


def test_compressed_copies_count_in_the_cache_budget() -> None:
    budget = MB

    def fill() -> ResultCache:
        cache = ResultCache(max_bytes=budget)
        for seed in range(16):  # 16 distinct specifications, each sent in every encoding
            _compressed_copies(cache.put(cache_key("pooled", f"spec-{seed}", 1), _answer(seed)))
        return cache

    # A first fill imports and caches what the calls need, not the cache's memory (whether or
    # not another test of the process ran first: pytest-randomly picks the order).
    fill()
    cache, retained = _retained(fill)
    assert 2 <= len(cache) < 16
    assert cache.total_bytes <= budget
    assert retained <= 1.1 * budget


def test_a_compressed_copy_adds_its_bytes_and_can_evict() -> None:
    first, second = _answer(1), _answer(2)
    cache = ResultCache(max_bytes=10 * MB)
    entry = cache.put(cache_key("pooled", "a", 1), first)
    before = cache.total_bytes
    body = compress(entry.json, "gzip")
    entry.remember("gzip", body)
    assert cache.total_bytes - before >= len(body)
    entry.remember("gzip", b"a second copy of the same encoding is not kept")
    assert entry.encoded["gzip"] == body

    small = ResultCache(max_bytes=before * 2 + 1_000)  # room for two answers, not their copies
    kept = small.put(cache_key("pooled", "a", 1), first)
    small.put(cache_key("pooled", "b", 1), second)
    assert len(small) == 2
    assert small.entry(cache_key("pooled", "a", 1)) is kept  # a hit: now the most recent
    kept.remember("br", b"x" * 200_000)  # a (made-up) copy the budget has no room for
    assert len(small) == 1
    assert small.get(cache_key("pooled", "b", 1), type(second)) is None  # least recently used
    assert small.total_bytes <= before * 2 + 1_000
