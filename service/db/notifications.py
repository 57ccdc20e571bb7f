"""PostgreSQL ``LISTEN``/``NOTIFY``: wake delivery workers when events commit.

The outbox write sends ``NOTIFY`` in the transaction that records the events
(:meth:`service.db.repositories.events.EventRepository.announce`); PostgreSQL delivers it to
listeners only when that transaction commits, and not at all if it rolls back. A worker's
listener then wakes its loop at once instead of at its next poll, which stays as the fallback
(a notification sent while no listener was connected is not kept). SQLite has nothing like
it: its workers poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)
CHANNEL = "lma_events"
# How often the listener looks at its stop event, and how long it waits to reconnect.
CHECK_SECONDS = 0.5


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class EventListener:
    """A thread that calls ``on_event`` for each notification on :data:`CHANNEL`."""

    def __init__(self, url: str, on_event: Callable[[], None], stop: threading.Event) -> None:
        self._dsn = _libpq_dsn(url)
        self._on_event = on_event
        self._stop = stop
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="webhooks-listen", daemon=True)

    @classmethod
    def start_for(
        cls, url: str, on_event: Callable[[], None], stop: threading.Event
    ) -> EventListener | None:
        """A started listener on PostgreSQL; None on SQLite."""
        if make_url(url).get_backend_name() != "postgresql":
            return None
        listener = cls(url, on_event, stop)
        listener._thread.start()
        return listener

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error:
                if not self._failing:  # once per outage; the workers' poll carries on
                    logger.warning("cannot LISTEN for events; polling only", exc_info=True)
                self._failing = True
                self._stop.wait(CHECK_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._failing = False
            self._on_event()  # events committed while not listening were not announced
            while not self._stop.is_set():
                for _ in connection.notifies(timeout=CHECK_SECONDS):
                    self._on_event()
