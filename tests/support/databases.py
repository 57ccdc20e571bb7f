"""Test databases: one migrated template per backend and run, cloned for each user.

Migrating a database costs seconds (more on PostgreSQL, whose migrations also take a server-wide
advisory lock that every other run on the server waits for); copying a migrated one costs a few
milliseconds. So a run migrates one template per backend, the first time a test needs it, and
every database a test asks for is a copy: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE``
on PostgreSQL (https://www.postgresql.org/docs/15/manage-ag-templatedbs.html).

Under pytest-xdist the workers share the templates: the run's controller names a directory
(``LMA_TEST_RUN_DIR``) before it starts them, the first worker to need a template builds it
under an exclusive ``flock`` and records it there, the others read it; the controller drops the
PostgreSQL template when the run ends (``finish_run``).

Dropping is the expensive half on PostgreSQL: ``DROP DATABASE`` waits for a checkpoint, 1.5-2.5
s each on this 2-core machine under the suite's load (measured, issue 24), where ``CREATE
DATABASE ... TEMPLATE`` takes ~0.2 s. So a test does not wait for its database to go: drops run
on a background thread of the process (``drop_postgres_database``), each process waits for its
own at the end of its session (``wait_for_drops``), and the controller, last, drops the
template and anything of the run still there, together (concurrent drops share checkpoints).
Every database of a run is named with the run's tag, so that sweep finds exactly the run's.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from service.db.migrate import upgrade_to_head

RUN_DIR_VARIABLE = "LMA_TEST_RUN_DIR"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_RECORD = "templates.json"


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL


def admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _on_server(statement: str) -> None:
    """Run one statement on the test server's maintenance database; fail loudly if unreachable."""
    server = postgres_server_url()
    try:
        with psycopg.connect(admin_dsn(server), autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)  # type: ignore[arg-type]  # names come from uuid4, not input
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the tests and unreachable at {server}: {exc}")


def _new_postgres_url(*, template: str | None = None) -> str:
    name = f"{_run_prefix()}{uuid.uuid4().hex[:12]}"
    _on_server(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return make_url(postgres_server_url()).set(database=name).render_as_string(hide_password=False)


def _run_prefix(run_dir: Path | None = None) -> str:
    """``lma_test_<run tag>_``: the start of every database name of a run (this one's)."""
    name = (run_dir or _run_dir()).name.removeprefix("lma-tests-")
    return f"lma_test_{re.sub(r'[^a-z0-9]', '', name.lower())}_"


def create_postgres_database() -> str:
    """A new, empty database on the test server; fails loudly when the server is unreachable."""
    return _new_postgres_url()


_dropper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drop-database")
_drops: list[Future[None]] = []


def drop_postgres_database(url: str) -> None:
    """Drop a test database in the background: the caller's test need not wait for it."""
    _drops.append(_dropper.submit(_drop_now, make_url(url).database or ""))


def _drop_now(name: str) -> None:
    _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for_drops() -> None:
    """Wait for this process's drops; a failed one fails loudly here."""
    done, _ = wait(_drops)
    _drops.clear()
    for future in done:
        future.result()


# --- the run's shared directory and templates ---------------------------------------------


def start_run() -> None:
    """Called once by the process that starts the run (the xdist controller, or pytest alone)."""
    if RUN_DIR_VARIABLE not in os.environ:
        os.environ[RUN_DIR_VARIABLE] = tempfile.mkdtemp(prefix="lma-tests-")


def finish_run() -> None:
    """Drop the run's PostgreSQL template and remove its directory (the starting process only)."""
    run_dir = Path(os.environ.pop(RUN_DIR_VARIABLE, ""))
    if not run_dir.name:
        return
    record = _read_record(run_dir)
    if "postgresql" in record:
        wait_for_drops()
        for url in _databases_named(_run_prefix(run_dir)):
            drop_postgres_database(url)
        wait_for_drops()
    shutil.rmtree(run_dir, ignore_errors=True)


def _databases_named(prefix: str) -> list[str]:
    """The URLs of the server's databases whose names start with ``prefix``."""
    server = postgres_server_url()
    with psycopg.connect(admin_dsn(server), autocommit=True, connect_timeout=5) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    url = make_url(server)
    return [url.set(database=name).render_as_string(hide_password=False) for (name,) in names]


def _run_dir() -> Path:
    start_run()  # a helper imported outside pytest still gets a directory of its own
    return Path(os.environ[RUN_DIR_VARIABLE])


def _read_record(run_dir: Path) -> dict[str, str]:
    path = run_dir / _RECORD
    loaded: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    return loaded


_known: dict[str, str] = {}
_known_lock = threading.Lock()


def template(backend: str) -> str:
    """The URL of this run's migrated template for ``backend``, built by whoever asks first."""
    with _known_lock:
        if backend in _known:
            return _known[backend]
        run_dir = _run_dir()
        with (run_dir / "templates.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            record = _read_record(run_dir)
            if backend not in record:
                record[backend] = _build_template(backend, run_dir)
                (run_dir / _RECORD).write_text(json.dumps(record))
        _known[backend] = record[backend]
        return record[backend]


def _build_template(backend: str, run_dir: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{run_dir / 'template.sqlite3'}"
    else:
        url = _new_postgres_url()
    upgrade_to_head(url)
    return url


def clone(backend: str, directory: Path) -> str:
    """A new database of ``backend`` at head (SQLite in ``directory``); the caller drops it."""
    source = template(backend)
    if backend == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"db-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(make_url(source).database or "", path)
        return f"sqlite:///{path}"
    return _new_postgres_url(template=make_url(source).database)


def drop(url: str) -> None:
    """Drop a database made by ``clone`` (SQLite files go with their temporary directory)."""
    if url.startswith("postgresql"):
        drop_postgres_database(url)


@contextmanager
def migrated_database(backend: str, directory: Path) -> Iterator[str]:
    """A new database of ``backend`` migrated to head (SQLite in ``directory``), then dropped."""
    url = clone(backend, directory)
    try:
        yield url
    finally:
        drop(url)
