"""Real servers for the reliability tests: a new database, ``lma`` and ``uvicorn`` processes.

Each server is a uvicorn process of its own (optionally with several workers) on a free port,
in a process group of its own so that it, and only it, can be killed; its output goes to a log
file that a failing test prints.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from service.cli import main
from service.db.migrate import PROJECT_ROOT
from service.settings import get_settings
from tests.support.databases import migrated_database

# A deadline, not a wait: a loaded CI machine (xdist workers beside other jobs) has taken
# over 30 s to import and start the service.
STARTUP_SECONDS = 90


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a new database at the newest schema, without evidence or keys, dropped
    afterwards: a copy of the run's migrated template (tests/support/databases.py), since
    migrating takes seconds that copying does not."""
    with migrated_database(backend, folder) as url:
        yield url


def lma(url: str, *argv: str) -> str:
    """Run ``lma ARGV`` against ``url``; what it printed (it must succeed).

    The console script's own entry point, called in this process: the same code as the
    ``lma`` executable without a new interpreter's start-up (seconds on a busy machine).
    """
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(io.StringIO()) as out:
        patch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            code = main(list(argv))
        finally:
            get_settings.cache_clear()
    assert code == 0, f"lma {' '.join(argv)} exited with {code}"
    return out.getvalue()


def migrated_with_keys(url: str, keys: dict[str, str]) -> dict[str, str]:
    """``lma db upgrade`` on ``url``, then ``lma keys create`` each of ``keys``.

    The upgrade finds a :func:`fresh_database` at the newest schema already, as the Docker
    image's ``lma db upgrade`` does at every start after the first: it has nothing to do.

    ``keys`` maps a key's name to its ``--scopes``, with ``+trusted`` appended for a trusted
    key; the result maps each name to the key itself.
    """
    lma(url, "db", "upgrade")
    created = {}
    for name, scopes in keys.items():
        argv = ["keys", "create", "--name", name, "--scopes", scopes.removesuffix("+trusted")]
        out = lma(url, *argv, *(["--trusted"] if scopes.endswith("+trusted") else []))
        [created[name]] = [line for line in out.splitlines() if line.startswith("lma_")]
    return created


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """One uvicorn process (and its workers) serving ``service.main:app`` on ``url``'s data."""

    def __init__(
        self,
        url: str,
        log: Path,
        *,
        workers: int = 1,
        options: tuple[str, ...] = (),
        environment: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-level", "warning"]
        if workers > 1:
            command += ["--workers", str(workers)]
        command += options
        # The checks compare what anonymous readers see, pending submissions included.
        env = {**os.environ, "DATABASE_URL": url, "UNREVIEWED_STUDIES_PUBLIC": "true"}
        env.update(environment or {})
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
def running(url: str, *logs: Path, workers: int = 1) -> Iterator[list[Server]]:
    """One server per log file, started together, all ready; stopped afterwards."""
    servers: list[Server] = []
    try:
        servers += [Server(url, log, workers=workers) for log in logs]
        for server in servers:
            server.wait_until_ready()
        yield servers
    finally:
        for server in servers:
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
