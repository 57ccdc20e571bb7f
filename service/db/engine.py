"""Engines and sessions.

SQLite is the embedded default and PostgreSQL the scale-out store. SQLite runs in WAL mode
with foreign keys on; its writers start with ``BEGIN IMMEDIATE`` so that two writers queue
on the database lock at the start instead of failing when a read transaction tries to
upgrade to a write one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from service.db.outages import OutageLog
from service.settings import Settings


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_pragmas(engine: Engine, *, busy_timeout_ms: int, immediate: bool) -> None:
    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (the documented recipe
        # for SAVEPOINT support and for BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_sql)


def _sqlite_pool(url: str) -> dict[str, Any]:
    """Keep file connections open between requests; never share an in-memory database.

    Opening a connection and running its four PRAGMAs took about a fifth of a cached request
    (a 304, say); a pooled connection is used by one thread at a time, as SQLite needs.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return {"poolclass": NullPool}
    return {"pool_size": 5, "max_overflow": 10, "pool_pre_ping": False}


def create_db_engine(url: str, settings: Settings, *, for_writes: bool = False) -> Engine:
    """An engine for ``url``.

    On SQLite, ``for_writes`` makes every transaction take the write lock when it begins.
    """
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **_sqlite_pool(url))
        _install_sqlite_pragmas(
            engine, busy_timeout_ms=settings.sqlite_busy_timeout_ms, immediate=for_writes
        )
        return engine
    return create_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=True,
    )


@dataclass(frozen=True, slots=True)
class Database:
    """The engines and session factories of one database: reads and writes."""

    url: str
    read_engine: Engine
    write_engine: Engine
    read_sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
    outages: OutageLog = field(default_factory=OutageLog)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        url = settings.database_url
        read_engine = create_db_engine(url, settings)
        write_engine = (
            create_db_engine(url, settings, for_writes=True)
            if url.startswith("sqlite")
            else read_engine
        )
        database = cls(
            url=url,
            read_engine=read_engine,
            write_engine=write_engine,
            read_sessions=sessionmaker(read_engine, expire_on_commit=False),
            write_sessions=sessionmaker(write_engine, expire_on_commit=False),
        )
        for engine in {read_engine, write_engine}:
            database.outages.watch(engine)
        return database

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session that commits once at the end, or rolls back on any exception."""
        factory = self.write_sessions if write else self.read_sessions
        with factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.read_engine.dispose()
        self.write_engine.dispose()
