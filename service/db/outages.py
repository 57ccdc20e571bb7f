"""Database outages: which errors mean "the database is unavailable", logged once per outage.

While PostgreSQL restarts (or a SQLite file stays locked past the busy timeout, or cannot be
read), every request that touches the database fails the same way. Each is answered 503 with
``Retry-After`` rather than 500, and the outage is logged once, at WARNING, when it starts; the
first statement that succeeds afterwards ends it (logged at INFO). The pools reconnect by
themselves (``pool_pre_ping`` on PostgreSQL), so the process recovers without a restart.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

logger = logging.getLogger("service.db")
# sqlite3 reports an unreadable or foreign file as a DatabaseError, not an OperationalError.
_UNREADABLE_SQLITE = ("not a database", "unable to open", "disk i/o error", "malformed")


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached or used right now."""
    if isinstance(error, OperationalError | PoolTimeoutError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, DatabaseError) and isinstance(error.orig, sqlite3.DatabaseError):
        message = str(error.orig).lower()
        return any(text in message for text in _UNREADABLE_SQLITE)
    return False


def outage_reason(error: BaseException) -> str:
    """The driver's one-line reason, without SQL or parameters."""
    original = getattr(error, "orig", None) or error
    return (str(original).strip().splitlines() or [type(original).__name__])[0][:200]


class OutageLog:
    """Whether the database is down, so that an outage is logged once, not once per request."""

    def __init__(self) -> None:
        self._down = False
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self._down

    def failed(self, error: BaseException) -> None:
        """Record a failed request; the first of an outage logs a warning."""
        with self._lock:
            if self._down:
                return
            self._down = True
        logger.warning("database unavailable, answering 503: %s", outage_reason(error))

    def recovered(self) -> None:
        """A statement succeeded: end the outage, if there was one."""
        if not self._down:  # the common case, without the lock: one attribute read
            return
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            logger.info("database available again")

    def watch(self, engine: Engine) -> None:
        """End the outage at the first statement ``engine`` runs successfully."""

        def _after_execute(*_: Any) -> None:
            self.recovered()

        event.listen(engine, "after_cursor_execute", _after_execute)
