"""Real servers for the reliability tests: a fresh database, ``lma`` and ``uvicorn`` processes.

Each server is a uvicorn process of its own (optionally with several workers) on a free port,
in a process group of its own so that it, and only it, can be killed; its output goes to a log
file that a failing test prints.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from service.db.migrate import PROJECT_ROOT
from tests.conftest import create_postgres_database, drop_postgres_database

LMA = str(Path(sys.executable).with_name("lma"))
STARTUP_SECONDS = 30


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database (not migrated), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'server.sqlite3'}"
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def lma(url: str, *argv: str) -> str:
    """Run the ``lma`` console script against ``url``; its output (it must succeed)."""
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [LMA, *argv], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"lma {' '.join(argv)}: {done.stderr}"
    return done.stdout


def migrated_with_key(url: str, *, scopes: str = "submit,curate") -> str:
    """Migrate ``url`` with ``lma db upgrade`` and create a key with ``lma keys create``."""
    lma(url, "db", "upgrade")
    out = lma(url, "keys", "create", "--name", "reliability", "--scopes", scopes)
    [key] = [line for line in out.splitlines() if line.startswith("lma_")]
    return key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """One uvicorn process (and its workers) serving ``service.main:app`` on ``url``'s data."""

    def __init__(self, url: str, log: Path, *, workers: int = 1) -> None:
        self.url = url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-level", "warning"]
        if workers > 1:
            command += ["--workers", str(workers)]
        env = {**os.environ, "DATABASE_URL": url}
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=PROJECT_ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_ready(self) -> None:
        """Return once ``/ready`` answers 200; fail with the server's log otherwise."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base_url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server never became ready:\n{self.log.read_text()}")

    def kill_hard(self) -> None:
        """``kill -9`` the server's process group: no shutdown, no cleanup, no commit."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), then SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill_hard()


@contextmanager
def running(url: str, log: Path, *, workers: int = 1) -> Iterator[Server]:
    server = Server(url, log, workers=workers)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def _postgres_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def writer_in_flight(url: str) -> bool:
    """Whether some transaction is in the middle of writing to ``url``'s database.

    PostgreSQL: a backend of that database holds a transaction id, which it takes at its first
    write and gives up at commit or rollback. SQLite: the write lock is taken (our writers take
    it at ``BEGIN IMMEDIATE`` and keep it until they commit), so a probe cannot take it.
    """
    if url.startswith("sqlite"):
        import sqlite3

        probe = sqlite3.connect(make_url(url).database or "", timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        finally:
            if probe.in_transaction:
                probe.execute("ROLLBACK")
            probe.close()
        return False
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
    )
    with psycopg.connect(_postgres_dsn(url), autocommit=True) as connection:
        row = connection.execute(query, (make_url(url).database,)).fetchone()
    return row is not None and row[0] > 0
