"""Database outages answer 503 with Retry-After, logged once per outage (issue 13, item 5).

Real failures, no mocks: an app pointed at a PostgreSQL port that refuses connections, a SQLite
file that is not a database (then replaced by a good one: the process recovers by itself), and
a SQLite database whose write lock another connection holds past the busy timeout.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from service.db.migrate import upgrade_to_head
from service.main import create_app
from service.settings import Settings
from service.usecases.operations.keys import create_api_key
from tests.factories import peer_group_trial

READS = ("/v1/studies", "/v1/studies/1", "/v1/outcomes/empowerment/pooled", "/v1/versions")
REFUSING_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/lma"


def _client(url: str, **settings: object) -> Iterator[TestClient]:
    # Without the in-process webhook and conclusions workers (issues 15, 23), which log their
    # own backing off (tests/conclusions covers the latter), and with a session key, whose
    # absence on PostgreSQL is warned about at start-up: only the requests' outages log here.
    settings = {
        "webhooks_deliver_in_api": False,
        "conclusions_in_api": False,
        "session_secret": "outage-test",
        **settings,
    }
    app = create_app(Settings(database_url=url, **settings))  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    problem = response.json()
    assert problem["type"].endswith("/database-unavailable")
    assert "select" not in response.text.lower()


def _outage_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("service") and r.levelno >= 30]


def test_refused_postgresql_connections_are_503_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    for client in _client(REFUSING_POSTGRES):
        for _ in range(3):
            for path in READS:
                _unavailable(client.get(path))
        key = {"Authorization": "Bearer lma_0123456789abcdef_" + "a" * 43}
        _unavailable(client.post("/v1/studies", json=peer_group_trial(), headers=key))
        assert client.get("/ready").status_code == 503
    records = _outage_records(caplog)
    assert [(r.levelname, r.name) for r in records] == [("WARNING", "service.db")]
    assert "Connection refused" in records[0].getMessage()


def test_an_unreadable_sqlite_file_is_503_and_the_process_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    good, path = tmp_path / "good.sqlite3", tmp_path / "lma.sqlite3"
    upgrade_to_head(f"sqlite:///{good}")
    path.write_bytes(b"this is not a SQLite database" * 100)
    for client in _client(f"sqlite:///{path}"):
        for _ in range(3):
            _unavailable(client.get("/v1/studies"))
        shutil.copyfile(good, path)
        assert client.get("/v1/studies").status_code == 200
        path.write_bytes(b"broken again" * 100)
        _unavailable(client.get("/v1/versions"))
    messages = [
        (r.levelname, r.getMessage()[:24]) for r in caplog.records if r.name == "service.db"
    ]
    assert messages == [
        ("WARNING", "database unavailable, an"),
        ("INFO", "database available again"),
        ("WARNING", "database unavailable, an"),
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_sqlite_lock_held_past_the_busy_timeout_is_503(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'lma.sqlite3'}"
    upgrade_to_head(url)
    for client in _client(url, sqlite_busy_timeout_ms=0):
        with client.app.state.database.session(write=True) as session:  # type: ignore[attr-defined]
            key = create_api_key(session, name="bot", scopes=["submit"]).plaintext
        holder = sqlite3.connect(tmp_path / "lma.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            headers = {"Authorization": f"Bearer {key}"}
            _unavailable(client.post("/v1/studies", json=peer_group_trial(), headers=headers))
            assert client.get("/v1/studies").status_code == 200  # WAL: readers go on
        finally:
            holder.rollback()
            holder.close()
        created = client.post("/v1/studies", json=peer_group_trial(), headers=headers)
        assert created.status_code == 201, created.text
    assert [r.levelname for r in _outage_records(caplog)] == ["WARNING"]
