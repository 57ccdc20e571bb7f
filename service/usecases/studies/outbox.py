"""The conclusions outbox: a write's version, queued for the conclusions worker.

Part of the evidence ledger. A study write adds one row (the version and the outcomes it
touched) in its own transaction, and nothing derived: the pooled answers, the monitoring look,
certainty and the events of the version are computed after commit, from committed versions
only, by :mod:`service.usecases.conclusions`. The row commits with the write or not at all,
so no version is concluded that was not committed, and none is forgotten.

Waking the worker: the session is marked, and when it commits the callbacks registered with
:func:`on_commit` run (the in-process worker's wake-up). A worker also polls, so a missed
wake-up only delays it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from service.db.repositories.conclusions import ConclusionRepository

PENDING = "service.conclusions.pending"
_callbacks: list[Callable[[], None]] = []
_lock = threading.Lock()


def enqueue_conclusions(
    session: Session, version: int, outcomes: Collection[str], *, at: datetime
) -> None:
    """Queue ``version`` (which touched ``outcomes``) for the conclusions worker."""
    ConclusionRepository(session).enqueue(version, sorted(outcomes), at)
    session.info[PENDING] = True


def has_pending(session: Session) -> bool:
    """Whether ``session`` queued a version since it last committed (tests drain on it)."""
    return bool(session.info.get(PENDING))


def on_commit(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after any session that queued a version commits; returns an undo."""
    with _lock:
        _callbacks.append(callback)

    def remove() -> None:
        with _lock:
            if callback in _callbacks:
                _callbacks.remove(callback)

    return remove


@event.listens_for(Session, "after_commit")
def _wake(session: Session) -> None:
    if not session.info.pop(PENDING, False):
        return
    with _lock:
        callbacks = list(_callbacks)
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
