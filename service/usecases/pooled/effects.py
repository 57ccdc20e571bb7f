"""The selected effects of a specification at a version, kept up to date by deltas.

Selecting one effect per study (:func:`select_effects`) from every evidence row of an outcome
costs far more than the statistics: at 10,000 studies, loading and selecting the rows took
about 150 ms per outcome, the REML fit 3 ms. A write changes a handful of studies, so the
effects at version V are derived from the effects at an earlier version U held in memory:
the studies that versions U+1..V changed (the ``evidence_change`` table, one indexed query)
are selected again from their rows at V, and every other study keeps its effect. Selection is
per study, so this gives exactly what selecting all rows at V gives (a test checks it).

Correct with several processes on one database for the reason the result cache is: the
evidence at a committed version never changes. Only committed versions are remembered; a
write derives its uncommitted "after" effects without storing them.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from service.db.repositories.pooled import PooledRepository
from service.stats import ENGINE_VERSION
from service.stats.estimators import CiMethod, Tau2Estimator
from service.usecases.pooled.byte_lru import ByteLRU
from service.usecases.pooled.cumulative import CumulativeAnalysis
from service.usecases.pooled.derived_memo import MAX_LOOK_LISTS, DerivedMemo, HeadlineMemo
from service.usecases.pooled.selection import StudyEffect, select_effects
from service.usecases.pooled.sizing import sample_size
from service.usecases.pooled.spec import PooledSpec

# A delta larger than this many studies, or spanning more versions, is no cheaper than
# loading everything (and an IN list of thousands of ids is a poor query).
MAX_DELTA_STUDIES = 2_000
MAX_DELTA_VERSIONS = 200
MAX_SELECTIONS = 24
SELECTION_BYTES = 64 * 1024 * 1024
Effects = tuple[StudyEffect, ...]
Measured = tuple[Effects, int]
"""Effects with their bytes, measured before taking the lock (sampling them is not free)."""


def selection_key(spec: PooledSpec) -> str:
    """What determines the selected effects: ``spec`` without its statistical options."""
    plain = replace(
        spec,
        estimator=Tau2Estimator.REML,
        ci_method=CiMethod.HKSJ,
        level=0.95,
        min_k=4,
        sections=(),
    )
    return f"{plain.canonical()}&engine={ENGINE_VERSION}"


class _Selections(ByteLRU[tuple[str, int], Measured]):
    """(selection key, version) -> effects: a :class:`~.byte_lru.ByteLRU` also bounded in
    entries, with each selection's versions indexed (sorted) for :meth:`SelectionMemo.newest`."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        super().__init__(max_bytes, lambda measured: measured[1])
        self._max_entries = max(max_entries, 1)  # the newest entry always stays
        self.versions: dict[str, list[int]] = {}

    def __setitem__(self, key: tuple[str, int], value: Measured) -> None:
        super().__setitem__(key, value)  # may evict, and so forget, ``key`` itself on the way
        held = self.versions.setdefault(key[0], [])
        if key[1] not in held:
            bisect.insort(held, key[1])
        while len(self) > self._max_entries:
            self.popitem()  # the least recently used, never ``key``

    def __delitem__(self, key: tuple[str, int]) -> None:
        # cachetools evicts through popitem(), which deletes: the index forgets every removal.
        super().__delitem__(key)
        held = self.versions[key[0]]
        held.remove(key[1])
        if not held:
            del self.versions[key[0]]


class SelectionMemo:
    """The selected effects of the most recently used (selection, version) pairs.

    Bounded in entries and in bytes (measured by :func:`sample_size`, about 1 KB per study
    with its strings): at most ``max_entries`` and ``max_bytes``, least recently used evicted
    first, the newest entry always kept. Categories share an entry (see :func:`effects_at`).
    Thread-safe; entries are immutable tuples that requests share.
    """

    def __init__(self, max_entries: int = MAX_SELECTIONS, max_bytes: int = SELECTION_BYTES) -> None:
        self._entries = _Selections(max_entries, max_bytes)
        self._lock = threading.Lock()
        self.derived: DerivedMemo[str | None] = DerivedMemo()
        """What writes derive from the effects at a version (see :mod:`.derived_memo`)."""
        self.looks: DerivedMemo[tuple[CumulativeAnalysis, ...]] = DerivedMemo(MAX_LOOK_LISTS)
        """Each version's cumulative analyses for sequential monitoring, for the next write."""
        self.headlines = HeadlineMemo()
        """Each cell's headline at a committed version (one's "after", the next's "before")."""

    @property
    def bytes(self) -> int:
        """The measured bytes of every entry held."""
        with self._lock:
            return self._entries.bytes

    def newest(self, key: str, version: int) -> tuple[int, Effects] | None:
        """The entry of ``key`` with the highest version not above ``version``."""
        with self._lock:
            held = self._entries.versions.get(key, [])
            below = bisect.bisect_right(held, version)
            if below == 0:
                return None
            best = held[below - 1]
            return best, self._entries[(key, best)][0]  # now the most recently used

    def put(self, key: str, version: int, effects: Effects) -> None:
        measured = (effects, sample_size(effects))
        with self._lock:
            self._entries[(key, version)] = measured

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def effects_at(
    session: Session,
    spec: PooledSpec,
    version: int,
    *,
    memo: SelectionMemo,
    min_rank: int | None,
    committed: bool = True,
) -> Effects:
    """One effect per eligible study of ``spec`` at ``version``, ordered by year and id.

    ``committed``: whether ``version`` is committed (only then is the answer remembered).
    A category is a filter on studies, so the effects of every category come from the one
    selection across all categories.
    """
    every = _all_categories(
        session, spec, version, memo=memo, min_rank=min_rank, committed=committed
    )
    if spec.category is None:
        return every
    return tuple(effect for effect in every if effect.category == spec.category)


def _all_categories(
    session: Session,
    spec: PooledSpec,
    version: int,
    *,
    memo: SelectionMemo,
    min_rank: int | None,
    committed: bool,
) -> Effects:
    spec = replace(spec, category=None)
    key = selection_key(spec)
    repository = PooledRepository(session)
    base = memo.newest(key, version)
    effects: Effects | None = None
    if base is not None and base[0] == version:
        return base[1]
    if base is not None and version - base[0] <= MAX_DELTA_VERSIONS:
        changed = repository.studies_changed(after=base[0], up_to=version)
        if len(changed) <= MAX_DELTA_STUDIES:
            rows = repository.evidence(
                [spec.outcome],
                at_versions=[version],
                study_ids=changed,
                reported=spec.needs_reported,
            )
            fresh = select_effects(rows, spec, min_rank=min_rank)
            effects = merge_effects(base[1], changed, fresh)
    if effects is None:
        rows = repository.evidence(
            [spec.outcome], at_versions=[version], reported=spec.needs_reported
        )
        effects = tuple(select_effects(rows, spec, min_rank=min_rank))
    if committed:
        memo.put(key, version, effects)
    return effects


def merge_effects(
    base: Sequence[StudyEffect], changed: Sequence[int] | set[int], fresh: Sequence[StudyEffect]
) -> Effects:
    """``base`` without the ``changed`` studies, plus their ``fresh`` effects, in study order."""
    gone = set(changed)
    merged = [effect for effect in base if effect.study_id not in gone]
    for effect in fresh:  # a few studies into thousands: insert, do not sort again
        bisect.insort(merged, effect, key=_study_order)
    return tuple(merged)


def _study_order(effect: StudyEffect) -> tuple[int, int]:
    return (effect.year, effect.study_id)
