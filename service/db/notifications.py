"""PostgreSQL ``LISTEN``/``NOTIFY``: wake workers when what they wait for commits.

Two channels:

- :data:`CHANNEL` (``lma_events``): the event outbox's write sends ``NOTIFY`` in the
  transaction that records the events
  (:meth:`service.db.repositories.events.EventRepository.announce`); delivery workers listen.
- :data:`CONCLUSIONS_CHANNEL` (``lma_conclusions``): a statement-level trigger on
  ``conclusion_job`` (migration 0030) notifies for every queued version, so a write pays no
  round trip for it and every path that queues a version (single and batch writes, imports,
  curation, the starter evidence) is covered; conclusions workers in other processes (an
  ``lma worker``, other API replicas) listen, instead of finding the version at their next
  poll (``CONCLUSIONS_POLL_SECONDS``) (issue 23).

PostgreSQL delivers a notification to listeners only when its transaction commits, and not
at all if it rolls back. A worker's listener then wakes its loop at once instead of at its
next poll, which stays as the fallback (a notification sent while no listener was connected
is not kept). SQLite has nothing like it: its workers poll, and its one process wakes its own.

An API process's shutdown does not wait for its listeners: each is a daemon thread that sees
its ``stop`` within :data:`CHECK_SECONDS` and then closes its connection. Joined, they made
every shutdown of an API process on PostgreSQL (each test's app, too) wait up to that long per
listener (measured with the conclusions listener alone: 550 instead of 69 ms per app start and
stop). ``lma worker`` joins its listener as it exits, to close its connection cleanly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)
CHANNEL = "lma_events"
CONCLUSIONS_CHANNEL = "lma_conclusions"  # written out in migration 0030's trigger too
# How often the listener looks at its stop event, and how long it waits to reconnect.
CHECK_SECONDS = 0.5


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class EventListener:
    """A thread that calls ``on_event`` for each notification on ``channel`` (by default
    :data:`CHANNEL`)."""

    def __init__(
        self,
        url: str,
        on_event: Callable[[], None],
        stop: threading.Event,
        channel: str = CHANNEL,
    ) -> None:
        self._dsn = _libpq_dsn(url)
        self._on_event = on_event
        self._stop = stop
        self._channel = channel
        self._failing = False
        self._thread = threading.Thread(target=self._run, name=f"listen-{channel}", daemon=True)

    @classmethod
    def start_for(
        cls,
        url: str,
        on_event: Callable[[], None],
        stop: threading.Event,
        channel: str = CHANNEL,
    ) -> EventListener | None:
        """A started listener on PostgreSQL; None on SQLite."""
        if make_url(url).get_backend_name() != "postgresql":
            return None
        listener = cls(url, on_event, stop, channel)
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
                    channel = self._channel
                    logger.warning("cannot LISTEN on %s; polling only", channel, exc_info=True)
                self._failing = True
                self._stop.wait(CHECK_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f"LISTEN {self._channel}")  # one of this module's constants
            self._failing = False
            self._on_event()  # what committed while not listening was not announced
            while not self._stop.is_set():
                for _ in connection.notifies(timeout=CHECK_SECONDS):
                    self._on_event()
