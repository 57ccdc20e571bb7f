"""Fresh databases and the service started as in production, for the service benchmark.

A database is new for every run: a SQLite file in a temporary folder, or a throwaway PostgreSQL
database created on the server that ``BENCH_POSTGRES_URL`` points at and dropped afterwards.
The server is the Dockerfile's command: ``lma db upgrade``, then ``uvicorn service.main:app
--workers 2`` in a subprocess of its own; an API key comes from ``lma keys create``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
WORKERS = 2


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="lma-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"


def _admin_dsn(server_url: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(drivername="postgresql", database="postgres")
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new database ``lma_bench_<random>`` on ``server_url``'s server, dropped at the end."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"lma_bench_{uuid.uuid4().hex[:12]}"
    admin = _admin_dsn(server_url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server_url).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable(server_url: str) -> str:
    """ "" when a database can be created on the server, otherwise why not."""
    import psycopg

    try:
        with psycopg.connect(_admin_dsn(server_url), connect_timeout=3):
            return ""
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable: {str(exc).splitlines()[0]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Running:
    base_url: str
    api_key: str
    log: Path


def _lma(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "lma"), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"lma {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become ready: {log.read_text()[-2000:]}")


@contextmanager
def production_server(database_url: str, log_dir: Path) -> Iterator[Running]:
    """Migrate, create a trusted submit key, serve with uvicorn's 2 workers; stop at the end."""
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    _lma(env, "db", "upgrade")
    created = _lma(env, "keys", "create", "--name", "bench", "--scopes", "submit", "--trusted")
    api_key = created.splitlines()[1].strip()
    with uvicorn_server("service.main:app", env, log_dir) as base_url:
        yield Running(base_url, api_key, log_dir)


@contextmanager
def uvicorn_server(app: str, env: dict[str, str], log_dir: Path) -> Iterator[str]:
    """``app`` served by uvicorn with 2 workers on a free port; its base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = log_dir / f"uvicorn-{port}.log"
    command = [
        str(BIN / "uvicorn"),
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--proxy-headers",
        "--workers",
        str(WORKERS),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_ready(base_url, process, log)
        yield base_url
    finally:
        _stop(process)


@contextmanager
def lma_worker(env: dict[str, str], log_dir: Path) -> Iterator[None]:
    """An ``lma worker`` process beside the API (conclusions and webhook delivery), stopped at
    the end: the PostgreSQL deployment the README's "Operating it" describes."""
    log = log_dir / "lma-worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "lma"), "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (its master and workers), SIGKILL if stuck."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
