"""The newest committed evidence version, read without an ORM session or a thread-pool trip.

A cached pooled answer or a 304 needs one fact from the database: the newest committed
version (every other step is in memory). Read through a request's session, that single-row
query cost about a third of such a request, and the thread-pool trip around it as much again.
A probe keeps one connection of its own and answers on the event loop:

- SQLite: ``PRAGMA data_version`` changes exactly when another connection has committed
  (https://sqlite.org/pragma.html#pragma_data_version), so the version counter is read again
  only then; otherwise the probe costs one PRAGMA, microseconds, and never waits (WAL readers
  do not block on the writer).
- PostgreSQL: the single-row query on an asynchronous psycopg connection (prepared by
  psycopg after a few runs), awaited on the event loop instead of a worker thread. Concurrent
  requests share reads (:class:`SharedReads`): one read is in flight at a time, and each
  request takes the result of the first read that *starts after it arrived*, so it still sees
  every commit acknowledged before it came, while under load one round trip answers many
  requests (PostgreSQL runs on the same cores as the service).

Both read the database at the time of the request, as the session did, so several processes
or replicas stay exactly as correct as before. Any error answers ``None``: the caller then
takes the ordinary path through a session.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol

import psycopg
from sqlalchemy.engine import make_url

# The candidates' write counter shares the row: pooled answers count ongoing trials (issue 28).
HEAD_QUERY = "SELECT version, surveillance_version FROM evidence_head WHERE id = 1"
State = tuple[int, int]


class HeadProbe(Protocol):
    async def head(self) -> int | None:
        """The newest committed version, or ``None`` when it cannot be read cheaply."""

    async def state(self) -> State | None:
        """The newest committed version and the candidates' write counter (``None``: as
        :meth:`head`), read together."""

    async def close(self) -> None:
        """Close the probe's connection."""


class SqliteHeadProbe:
    """One autocommit connection; the counter is read again only after someone commits."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._data_version: int | None = None
        self._head: State | None = None
        self._lock = threading.Lock()

    async def head(self) -> int | None:
        state = await self.state()
        return None if state is None else state[0]

    async def state(self) -> State | None:
        with self._lock:
            try:
                return self._read()
            except sqlite3.Error:
                self._reset()
                return None

    def _read(self) -> State:
        if self._connection is None:
            # timeout=0: never wait for a lock on the event loop; busy means "take the route".
            self._connection = sqlite3.connect(
                self._path, check_same_thread=False, isolation_level=None, timeout=0.0
            )
        data_version = self._connection.execute("PRAGMA data_version").fetchone()[0]
        if self._head is None or data_version != self._data_version:
            # Read after the PRAGMA: a commit in between is seen now, or by the next PRAGMA.
            version, surveillance = self._connection.execute(HEAD_QUERY).fetchone()
            self._head = int(version), int(surveillance)
            self._data_version = data_version
        return self._head

    def _reset(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection, self._head, self._data_version = None, None, None

    async def close(self) -> None:
        with self._lock:
            self._reset()


class SharedReads:
    """At most one ``read`` in flight; each caller gets the result of a read begun after its
    call (group commit's idea, for reads): callers arriving while a read is under way wait
    for the next one, which all of them share.

    Why not the read in flight: it may have been evaluated before a commit that was
    acknowledged to this caller's client, which must see its own write (read-your-writes
    across replicas). A failed read fails every caller that shares it.
    """

    def __init__(self, read: Callable[[], Awaitable[State]]) -> None:
        self._read = read
        self._next: asyncio.Future[State] | None = None  # the read the next callers share
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self) -> State:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        future = self._next
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._run())
        # shield: a caller that goes away (a client disconnects) must not cancel the others' read
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self._next is not None:
            future, self._next = self._next, None  # later callers wait for the next read
            try:
                result = await self._read()
            except BaseException as error:  # psycopg's and cancellation alike reach the callers
                future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
            else:
                future.set_result(result)


class PostgresHeadProbe:
    """One asynchronous connection, one query at a time (shared by the requests waiting for
    it), on the event loop that opened it."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: psycopg.AsyncConnection[tuple[int, int]] | None = None
        self._shared: SharedReads | None = None

    async def head(self) -> int | None:
        state = await self.state()
        return None if state is None else state[0]

    async def state(self) -> State | None:
        if self._shared is None:
            self._shared = SharedReads(self._read_or_reset)
        try:
            return await self._shared()
        except psycopg.Error:
            return None

    async def _read_or_reset(self) -> State:
        try:
            return await self._read()
        except psycopg.Error:
            await self.close()
            raise

    async def _read(self) -> State:
        if self._connection is None:
            self._connection = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=5
            )
        cursor = await self._connection.execute(HEAD_QUERY)
        row = await cursor.fetchone()
        if row is None:
            raise psycopg.DataError("the version counter row is missing")
        return int(row[0]), int(row[1])

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


def head_probe_for(url: str) -> HeadProbe | None:
    """A probe for the database at ``url``; ``None`` for in-memory SQLite (nothing to share)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return SqliteHeadProbe(database)
    if parsed.get_backend_name() == "postgresql":
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresHeadProbe(conninfo)
    return None
