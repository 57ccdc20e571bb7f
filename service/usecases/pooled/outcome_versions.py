"""The effective version of a pooled answer: the last version that changed its outcome's evidence.

A pooled answer depends only on the *included* evidence of its outcome (the included study
revisions with results for it), so a pending submission, or a write to another outcome, leaves
it byte for byte as it was. Answers, their ETags and cache entries are therefore keyed by the
newest version up to the requested one that opened or closed such a revision (the versions an
outcome's history lists), not by the global version: polling clients keep their 304s and the
cache keeps its hits across unrelated writes, and ``as_of`` answers share the entry too.

Correct with several processes on one database for the reason the result cache is: versions
are committed in order (writers hold the version counter's lock) and the evidence of a
committed version never changes, so the changes up to a version read as committed are final.
Each process learns them once, by deltas: the studies changed after the last version it
checked (one indexed query per new version seen, none while nothing is written).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Collection

from sqlalchemy.orm import Session

from service.db.repositories.pooled import PooledRepository


class OutcomeVersions:
    """Per outcome, the versions that changed its included evidence, known up to ``checked``.

    Thread-safe; shared by every request of the process (like the result cache).
    """

    def __init__(self) -> None:
        self._checked = 0
        self._changes: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    @property
    def checked(self) -> int:
        """Every change up to this version is known."""
        with self._lock:
            return self._checked

    def effective(
        self,
        session: Session,
        outcomes: Collection[str] | None,
        version: int,
        *,
        head: int,
    ) -> int:
        """The newest version up to ``version`` that changed any of ``outcomes``' evidence.

        ``outcomes``: ``None`` for every outcome. ``head`` is the newest committed version
        (``version <= head``). 0 when no version did.
        """
        self._catch_up(session, head)
        known = self.known(outcomes, version, head=head)
        assert known is not None  # caught up to head (or further) just now
        return known

    def known(self, outcomes: Collection[str] | None, version: int, *, head: int) -> int | None:
        """:meth:`effective` from memory alone; ``None`` when ``head`` is not checked yet."""
        with self._lock:
            if self._checked < head:
                return None
            names = self._changes if outcomes is None else outcomes
            return max((self._last(outcome, version) for outcome in names), default=0)

    def _last(self, outcome: str, version: int) -> int:
        changes = self._changes.get(outcome, [])
        index = bisect.bisect_right(changes, version)
        return changes[index - 1] if index else 0

    def _catch_up(self, session: Session, head: int) -> None:
        checked = self.checked
        if checked >= head:
            return
        found = PooledRepository(session).included_changes(after=checked, up_to=head)
        with self._lock:
            if head <= self._checked:
                return  # another request caught up meanwhile
            for outcome, number in found:  # sorted; all above what is known when kept
                if number > self._checked:
                    self._changes.setdefault(outcome, []).append(number)
            self._checked = head
