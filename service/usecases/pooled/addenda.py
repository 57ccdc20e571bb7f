"""What an answer says beyond its evidence version: an addendum, added after the cache.

A pooled answer is fixed by its specification and its effective evidence version (see
:mod:`.cache`), but a few facts it reports are not evidence and make no version: the ongoing
trials the plain-language statement counts (issue 28) are candidates of the surveillance, which
change with every search run and screening decision. Folding them into the evidence version
would be untrue (nothing in the evidence changed) and would throw away every cached analysis;
leaving them out of the cache key would serve a stale sentence, and a 304 to a client whose
copy says something else.

So the expensive part stays cached by version, and an :class:`Addendum` is applied to it
afterwards: its ``stamp`` (what it says, in short, e.g. ``"2:2027"``) joins the cache key and
so the ETag; an empty stamp adds nothing, and the answer, its bytes and its ETag are exactly
those without an addendum. Upper layers build addenda (this layer knows none of them).

The cheap read path (:mod:`service.api.fast_path`) answers without a session, so it cannot
work out a stamp; :class:`AddendumStamps` remembers the stamps the routes worked out, each for
the state it was read at (the newest evidence version and the candidates' write counter, one
row read together), and the fast path uses one only at that same state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from service.schemas.common import ReadModel

State = tuple[int, int]
"""(newest evidence version, candidates' write counter): ``evidence_head``'s one row."""


@dataclass(frozen=True, slots=True)
class Addendum:
    """An addition to an answer: ``name`` says which kind, ``stamp`` what it says (part of
    the cache key and ETag; ``""``: nothing to add), ``apply`` adds it to a cached answer."""

    name: str
    stamp: str
    apply: Callable[[ReadModel], ReadModel]


def with_stamp(canonical: str, stamp: str) -> str:
    """The canonical specification an answer with the addendum ``stamp`` is keyed by."""
    return f"{canonical}\x1f+{stamp}" if stamp else canonical


class AddendumStamps:
    """The stamps of (addendum name, outcome) worked out at the newest :data:`State` seen.

    Thread-safe; shared by the process' requests. Another state forgets the stamps of the
    last one: they may no longer hold (a request still at an older state only costs the
    next ones a trip through the route).
    """

    def __init__(self) -> None:
        self._state: State | None = None
        self._stamps: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def known(self, state: State, name: str, outcome: str) -> str | None:
        """The stamp worked out at ``state``; ``None`` when none was."""
        with self._lock:
            if state != self._state:
                return None
            return self._stamps.get((name, outcome))

    def remember(self, state: State, name: str, outcome: str, stamp: str) -> None:
        """Keep ``stamp``, worked out from what was committed at ``state`` or later."""
        with self._lock:
            if state != self._state:  # not ">": a restored backup may move the version back
                self._state, self._stamps = state, {}
            self._stamps[(name, outcome)] = stamp
