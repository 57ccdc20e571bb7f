"""A pooled answer's study rows, carried from one version's answer to the next (issue 23).

A write changes a handful of studies, and the selection memo (:mod:`.effects`) keeps the
same :class:`~.selection.StudyEffect` object for every other study. Of a study's row, only
its weight depends on the other studies (the fit's tau2); everything else (its interval
included) depends on its effect and the confidence level. So a row built for an answer is
kept, and the next answer copies it and sets the weight: at 10,000 studies (6,448 in the
outcome) the study list took 30 ms of CPU to build, 20 ms so (34 ms the first time, when
it is kept), of the ~120 ms of a first answer after a write (min of 15, interleaved).
The conclusions worker's warm-up of the cache builds the same answer, so it gains as much.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from service.usecases.pooled.selection import StudyEffect

Fields = dict[str, Any]
# Rows are kept for the effects of the answers built since the last pruning: past this many
# per effect of the largest answer built (with 1,000 more), only the answer's own stay. So a
# few selections (other filters, each category's subset) share the memo without evicting one
# another, and revised studies' old effects go once they add up. A kept row holds about
# 0.8 kB of its own (its dict, lists, floats; the strings are the effect's): 6,448 rows
# about 5 MB, at most 2 x 6,448 + 1,000 about 11 MB (not in the result cache's budget).
SLACK = 2


class StudyRows:
    """Each effect's row fields at a level (their weight is replaced), keyed by the effect's
    identity.

    The key is ``id(effect)``; the entry holds the effect itself, so that the id is not
    reused while the entry lives, and is checked with ``is``. Thread-safe: the worker and
    requests build answers at once; a race builds a row twice, with the same fields.
    """

    def __init__(self) -> None:
        self._rows: dict[int, tuple[StudyEffect, float, Fields]] = {}
        self._lock = threading.Lock()
        self._largest = 0

    def known(self, effects: Sequence[StudyEffect], level: float) -> list[Fields | None]:
        """The fields kept for each of ``effects`` at ``level`` (not to be changed), or ``None``."""
        rows = self._rows  # only read here; keep() changes it under its lock
        found: list[Fields | None] = []
        for effect in effects:
            kept = rows.get(id(effect))
            same = kept is not None and kept[0] is effect and kept[1] == level
            found.append(kept[2] if same and kept is not None else None)
        return found

    def keep(
        self,
        level: float,
        built: Sequence[tuple[StudyEffect, Fields]],
        effects: Sequence[StudyEffect],
    ) -> None:
        """Keep the ``built`` fields at ``level``; past :data:`SLACK` times as many rows as
        the largest answer has, keep only those of ``effects``."""
        with self._lock:
            rows = self._rows
            self._largest = max(self._largest, len(effects))
            if len(rows) + len(built) > SLACK * self._largest + 1_000:
                wanted = {id(effect) for effect in effects}
                rows = {key: row for key, row in rows.items() if key in wanted}
            for effect, fields in built:
                rows[id(effect)] = (effect, level, fields)
            self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)
