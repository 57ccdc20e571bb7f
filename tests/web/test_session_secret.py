"""The pages' session key: shared by every worker of one SQLite store, or SESSION_SECRET."""

from __future__ import annotations

import logging
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from service.settings import Settings
from service.web.session_secret import SECRET_FILE_NAME, session_signing_key


def _sqlite(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}")


def _worker(settings: Settings) -> Starlette:
    """One process's view of the session: a route that writes it and one that reads it."""

    async def write(request: Request) -> PlainTextResponse:
        request.session["key"] = "curator"
        return PlainTextResponse("ok")

    async def read(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.session.get("key")))

    key = session_signing_key(settings)
    middleware = [Middleware(SessionMiddleware, secret_key=key)]
    return Starlette(routes=[Route("/w", write), Route("/r", read)], middleware=middleware)


def test_two_workers_on_one_sqlite_store_honour_each_others_sessions(tmp_path: Path) -> None:
    settings = _sqlite(tmp_path / "lma.sqlite3")
    first, second = TestClient(_worker(settings)), TestClient(_worker(settings))
    first.get("/w")
    second.cookies.update(first.cookies)
    assert second.get("/r").text == "curator"


def test_the_key_file_is_private_and_made_once(tmp_path: Path) -> None:
    settings = _sqlite(tmp_path / "db" / "lma.sqlite3")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: session_signing_key(settings), range(32)))
    assert len(keys) == 1
    key_file = tmp_path / "db" / SECRET_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == keys.pop()


def test_session_secret_wins_and_writes_no_file(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'lma.sqlite3'}", session_secret=SecretStr("s3cret")
    )
    assert session_signing_key(settings) == "s3cret"
    assert not (tmp_path / SECRET_FILE_NAME).exists()


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://postgres@127.0.0.1/test", "sqlite://", "sqlite:///:memory:"]
)
def test_without_a_shared_folder_each_process_has_its_own_key(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=url)
    with caplog.at_level(logging.WARNING, logger="service.web.session_secret"):
        assert session_signing_key(settings) != session_signing_key(settings)
    assert "set SESSION_SECRET" in caplog.text


def test_a_key_file_still_being_written_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker made the file but has not written the key yet: read until it has."""
    settings = _sqlite(tmp_path / "lma.sqlite3")
    key_file = tmp_path / SECRET_FILE_NAME
    key_file.touch(mode=0o600)
    yields: list[int] = []

    def other_worker_writes() -> None:  # what happens while this one yields the CPU
        yields.append(1)
        key_file.write_text("written-by-the-other-worker")

    monkeypatch.setattr(os, "sched_yield", other_worker_writes)
    assert session_signing_key(settings) == "written-by-the-other-worker"
    assert yields == [1]
