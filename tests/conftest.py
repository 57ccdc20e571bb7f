"""Test fixtures: every database test runs once on SQLite and once on PostgreSQL.

A test touches storage through the fixtures parametrized over ``backend`` (``client``,
``session``, ``database``, ``app``...); its module says so with ``pytestmark = pytest.mark.db``,
and a test that requests them without the marker fails (``pytest_runtest_setup`` below), so the
split between storage tests (both databases) and pure tests (run once) cannot rot.

A db module whose behaviour cannot depend on the SQL dialect (validation answered before any
query, scope checks, statistics behind the API, spec walks) adds ``pytest.mark.dialect_free``:
it runs on one backend only, :data:`DIALECT_FREE_BACKEND` (issue 24: "run each test where it
means something"). ``--all-backends`` (``make test PYTEST_ARGS=--all-backends``) runs those on
every backend too, to check that a module so marked really is dialect-free.

Each backend gets, per xdist worker, a copy of a database migrated once per run
(tests/support/databases.py). Each test runs inside a
transaction that is rolled back at the end; the application's sessions join it through
savepoints (SQLAlchemy's "join a session into an external transaction" recipe), so a request
that commits still leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection
from sqlalchemy.orm import Session

import service.main
from service.api.deps import get_read_session, get_write_session
from service.api.fast_path import KnownUrls
from service.api.rate_limit import RateLimiter
from service.db.engine import Database
from service.db.head_probe import HEAD_QUERY
from service.main import create_app
from service.settings import Settings
from service.usecases.conclusions.worker import ConclusionsWorker
from service.usecases.pooled.cache import ResultCache
from service.usecases.pooled.effects import SelectionMemo
from service.usecases.studies.outbox import has_pending
from tests.support.databases import (
    DEFAULT_POSTGRES_URL,
    admin_dsn,
    create_postgres_database,
    drop_postgres_database,
    finish_run,
    migrated_database,
    postgres_server_url,
    start_run,
    wait_for_drops,
)
from tests.support.ordering import keep_long_tests_out_of_the_tail

pytest_plugins = ["tests.support.coverage_twins"]

BACKENDS = ("sqlite", "postgresql")
# PostgreSQL is the production store, so a test that runs once runs there.
DIALECT_FREE_BACKEND = "postgresql"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Each test starts with the logging configuration the one before it found.

    ``create_app`` configures logging for its settings (``LOG_LEVEL``), uvicorn and Alembic's
    ``fileConfig`` configure it their own way: without this, a test that expects a warning
    (or the access log, or SQL at DEBUG) fails when an earlier test in the same process left
    the root logger at another level or a logger disabled (seen under random order).
    """
    manager = logging.root.manager
    named = [x for x in manager.loggerDict.values() if isinstance(x, logging.Logger)]
    # The root's handlers are pytest's own (capture per phase): only its level is restored.
    saved = [(x, x.level, x.disabled, x.propagate, list(x.handlers)) for x in named]
    root_level, disabled = logging.root.level, manager.disable
    yield
    manager.disable = disabled
    logging.root.setLevel(root_level)
    for found, level, was_disabled, propagate, handlers in saved:
        if found.level != level:  # setLevel empties every logger's cache: ~100 loggers, per test
            found.setLevel(level)
        found.disabled = was_disabled
        found.propagate = propagate
        found.handlers[:] = handlers


# `make test` selects `ci` (--hypothesis-profile=ci): the same examples on every run
# (derandomized, no example database), no per-example deadline on a loaded machine. Tests that
# set max_examples keep theirs; the rest get Hypothesis' default of 100.
hypothesis_settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# Kept importable from here: test modules written before tests/support/databases.py use them.
__all__ = [
    "DEFAULT_POSTGRES_URL",
    "create_postgres_database",
    "drop_postgres_database",
    "migrated_database",
    "postgres_server_url",
]
_admin_dsn = admin_dsn


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated database backends for the db tests (make test-fast: sqlite)",
    )
    parser.addoption(
        "--all-backends",
        action="store_true",
        help="run the dialect_free tests on every chosen backend, not only on one",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the xdist controller, or pytest without xdist
        start_run()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Each process waits for its databases' background drops, after the session's teardown."""
    wait_for_drops()


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        finish_run()


def chosen_backends(config: pytest.Config) -> list[str]:
    chosen = str(config.getoption("--backends")).split(",")
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"--backends: unknown {sorted(unknown)}; known {BACKENDS}")
    return chosen


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test."""
    return str(request.param)


STORAGE_FIXTURES = frozenset({"backend"})


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that reaches storage must say so: ``pytestmark = pytest.mark.db`` in its module."""
    touches = STORAGE_FIXTURES & set(getattr(item, "fixturenames", ()))
    if touches and item.get_closest_marker("db") is None:
        pytest.fail(
            f"{item.nodeid} uses the database fixtures (through {sorted(touches)}) but is not "
            "marked db: add `pytestmark = pytest.mark.db` to its module",
            pytrace=False,
        )
    if item.get_closest_marker("dialect_free") and item.get_closest_marker("db") is None:
        pytest.fail(f"{item.nodeid} is marked dialect_free but not db", pytrace=False)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of the backend under test, one per xdist worker (a template's copy)."""
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


@pytest.fixture(scope="session")
def shared_app(settings: Settings) -> Iterator[FastAPI]:
    """One application per backend and xdist worker, which every test's ``app`` reuses.

    FastAPI (0.16x) builds each included route's dependency graph lazily, on an application's
    first request: 0.2-0.4 s per new application, paid by each of the ~1,500 API tests when
    each built its own. What a test may change is reset around it (``app``).
    """
    app = create_app(settings)
    with _no_sealing_at_start(app.state.database):
        yield app


@contextmanager
def _no_sealing_at_start(database: Database) -> Iterator[None]:
    """The shared application's start-ups skip the check for plain webhook secrets.

    Each test starts the shared application again (its ``TestClient``), and the shutdown before
    disposed its pool, so the check opened a new connection every time: on PostgreSQL 3.7 ms of
    the test's CPU and 6 ms of the server's (a new backend) per test, measured over 300 start-ups.
    Its tests' own requests hold their secrets sealed already; sealing at start-up is tested
    with applications of their own (tests/delivery/test_secret_box.py), which seal as before.
    """
    sealing = service.main._seal_secrets

    def seal_unless_shared(started: Database, settings: Settings) -> None:
        if started is not database:
            sealing(started, settings)

    service.main._seal_secrets = seal_unless_shared
    try:
        yield
    finally:
        service.main._seal_secrets = sealing


@pytest.fixture
def app(
    shared_app: FastAPI, settings: Settings, connection: Connection, request: pytest.FixtureRequest
) -> Iterator[FastAPI]:
    """The application, its sessions joined to the test's transaction, its state fresh.

    Everything ``create_app`` keeps per application and a request can change (the pooled
    cache, the rate limiter, the known URLs, the settings) is new for each test; what a test
    changes (``app.state``, overrides, probe routes it adds) is put back after it. Each write
    is concluded when its request returns, unless the test is marked ``unconcluded``.
    """
    app = shared_app
    saved_state, saved_routes = dict(app.state._state), list(app.router.routes)
    app.state.settings = settings
    app.state.pooled_cache = ResultCache()
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.known_urls = KnownUrls()

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
    # Concluding a write (pooled changes, looks, events) is about a fifth of an API test's
    # time; a module that reads none of it says so with ``unconcluded`` (issue 24; the guard
    # in tests/api/test_unconcluded.py keeps the mark honest).
    app.state.conclude_inline = request.node.get_closest_marker("unconcluded") is None
    app.dependency_overrides[get_read_session] = shared_session
    app.dependency_overrides[get_write_session] = shared_session
    app.state.head_probe = JoinedHeadProbe(connection)
    try:
        yield app
    finally:
        app.dependency_overrides.clear()
        app.state._state.clear()
        app.state._state.update(saved_state)
        if app.router.routes != saved_routes:  # a test added probe routes
            app.router.routes[:] = saved_routes
            app.openapi_schema = None


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
        return (await self.state())[0]

    async def state(self) -> tuple[int, int]:
        version, surveillance = self._connection.exec_driver_sql(HEAD_QUERY).one()
        return int(version), int(surveillance)

    async def close(self) -> None:
        return None


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


# --- reporting: how many tests ran on each backend ----------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    """After pytest-randomly's shuffle: group by backend, deselect the backends not chosen.

    pytest-randomly shuffles within modules too, interleaving SQLite and PostgreSQL items, so a
    worker would drop and rebuild its session database at every switch; a stable sort by backend
    keeps the random order within each group and builds each database once per worker. The
    longest tests are not put first: tried in issue 24, it ran the scale tests (a 1,000-write
    burst, 20,000 deliveries, 400 concurrent clients) at the same time on the 2 cores and one
    PostgreSQL, which made each 2-3 times slower and the suite 50 % slower (1,580 s against
    1,048 s); spread at random, they overlap light tests instead. Only the run's last tenth
    holds none of them (tests/support/ordering.py): one there kept a worker busy ~10 s alone.
    """
    yield
    order = {name: rank for rank, name in enumerate(BACKENDS)}
    items.sort(key=lambda item: order.get(_backend_of(item) or "", -1))
    chosen = chosen_backends(config)
    once = _dialect_free_backend(config, chosen)
    kept, dropped = [], []
    for item in items:
        on = _backend_of(item)
        wanted = on is None or (on in chosen and _runs_on(item, on, once))
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    keep_long_tests_out_of_the_tail(items, _backend_of)
    for item in items:
        if (on := _backend_of(item)) is not None:
            item.user_properties.append(("backend", on))


def _dialect_free_backend(config: pytest.Config, chosen: list[str]) -> str | None:
    """The one backend dialect_free tests run on (``None``: every chosen backend)."""
    if config.getoption("--all-backends"):
        return None
    return DIALECT_FREE_BACKEND if DIALECT_FREE_BACKEND in chosen else chosen[0]


def _runs_on(item: pytest.Item, backend: str, once: str | None) -> bool:
    return once is None or item.get_closest_marker("dialect_free") is None or backend == once


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("backend")


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
