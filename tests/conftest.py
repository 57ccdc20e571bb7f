"""Test fixtures: every database test runs once on SQLite and once on PostgreSQL.

Each backend gets a fresh database built by running the migrations. Each test runs inside a
transaction that is rolled back at the end; the application's sessions join it through
savepoints (SQLAlchemy's "join a session into an external transaction" recipe), so a request
that commits still leaves nothing behind.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.api.deps import get_read_session, get_write_session
from service.db.engine import Database
from service.db.head_probe import HEAD_QUERY
from service.db.migrate import upgrade_to_head
from service.main import create_app
from service.settings import Settings
from service.usecases.conclusions.worker import ConclusionsWorker
from service.usecases.pooled.effects import SelectionMemo
from service.usecases.studies.outbox import has_pending

BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_postgres_database() -> str:
    """A new, empty database on the test server; fails loudly when the server is unreachable."""
    server = postgres_server_url()
    name = f"lma_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(_admin_dsn(server), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the tests and unreachable at {server}: {exc}")
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_admin_dsn(postgres_server_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test."""
    return str(request.param)


@contextmanager
def migrated_database(backend: str, directory: Path) -> Iterator[str]:
    """A new database of ``backend`` migrated to head (SQLite in ``directory``), then dropped."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'test.sqlite3'}"
        upgrade_to_head(url)
        yield url
        return
    url = create_postgres_database()
    try:
        upgrade_to_head(url)
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database of the backend under test."""
    with migrated_database(backend, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Webhook delivery is tested with databases of its own (tests/delivery); the feed's
    # long-poll is capped so that fuzzed wait= values cannot stall the suite. Most tests read
    # what they just submitted without a key, so the shared app shows unreviewed studies to
    # everyone; tests/api/test_visibility.py checks the default (hidden).
    return Settings(
        database_url=database_url,
        webhooks_deliver_in_api=False,
        conclusions_in_api=False,
        events_max_wait_seconds=0.5,
        unreviewed_studies_public=True,
    )


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    yield database
    database.dispose()


@pytest.fixture
def connection(database: Database) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with database.write_engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


@pytest.fixture
def app(settings: Settings, connection: Connection) -> FastAPI:
    """The application, its sessions joined to the test's transaction."""
    app = create_app(settings)

    def joined_session() -> Iterator[Session]:
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            pending = has_pending(session)
            session.commit()
        # The conclusions worker, inline: a write's events and looks are there when its
        # request returns (tests that need a lagging worker set conclude_inline to False).
        if pending and app.state.conclude_inline:
            app.state.conclusions.drain()

    # FastAPI caches a dependency under the overridden callable, so overriding both with
    # joined_session would open two sessions whose savepoints interleave. Both overrides
    # depend on joined_session instead: one session per request, whichever is asked for.
    # A default, not Annotated: under postponed annotations FastAPI cannot resolve a local.
    joined = Depends(joined_session, scope="function")

    def shared_session(session: Session = joined) -> Session:
        return session

    app.state.conclusions = joined_worker(connection, app.state.pooled_cache.selections)
    app.state.conclude_inline = True
    app.dependency_overrides[get_read_session] = shared_session
    app.dependency_overrides[get_write_session] = shared_session
    app.state.head_probe = JoinedHeadProbe(connection)
    return app


def joined_worker(connection: Connection, memo: SelectionMemo | None = None) -> ConclusionsWorker:
    """A conclusions worker whose sessions join the test's transaction."""

    @contextmanager
    def opened() -> Iterator[Session]:
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            session.commit()

    return ConclusionsWorker(opened, opened, memo=memo, name="test-worker")


class JoinedHeadProbe:
    """The fast read path's version probe, reading the test's uncommitted transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def head(self) -> int | None:
        return int(self._connection.exec_driver_sql(HEAD_QUERY).scalar_one())

    async def close(self) -> None:
        return None


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


# --- reporting: how many tests ran on each backend ----------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "backend" in callspec.params:
            item.user_properties.append(("backend", callspec.params["backend"]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            backend = dict(getattr(report, "user_properties", [])).get("backend", "none")
            counts[(str(backend), outcome)] += 1
    lines = []
    for backend, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"), ("none", "no DB")):
        tally = {o: counts[(backend, o)] for o in ("passed", "failed", "error", "skipped")}
        lines.append(
            f"{label}: {tally['passed']} passed, {tally['failed']} failed, "
            f"{tally['error']} errors, {tally['skipped']} skipped"
        )
    terminalreporter.write_sep("=", "tests per database backend")
    for line in lines:
        terminalreporter.write_line(line)
