"""API keys never reach a log or a response once ``lma keys create`` has printed them.

Runs the real CLI and a real app on one migrated SQLite database, with every logger at
DEBUG (SQLAlchemy's statement log included), and searches everything captured for the key.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from service.cli import main
from service.db.engine import Database
from service.main import create_app
from service.settings import Settings, get_settings
from service.usecases.operations import keys as api_keys
from service.usecases.operations.keys import create_api_key, verify_api_key
from tests.factories import peer_group_trial
from tests.support.databases import clone


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = clone("sqlite", tmp_path)  # a copy of the run's migrated template
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _cli_key(capsys: pytest.CaptureFixture[str], name: str, scopes: str) -> str:
    assert main(["keys", "create", "--name", name, "--scopes", scopes]) == 0
    out = capsys.readouterr().out
    [key] = [line for line in out.splitlines() if line.startswith("lma_")]
    return key


def _everything(response: Response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return headers + "\n" + response.text


def test_keys_never_appear_in_logs_or_responses(
    database_url: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # SQLAlchemy defaults itself to WARN
    admin = _cli_key(capsys, "admin", "admin")
    bot = _cli_key(capsys, "bot", "submit,read")
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    app = create_app(Settings(database_url=database_url, log_level="DEBUG"))

    @app.get("/probe/crash")
    def crash() -> None:
        raise RuntimeError("crash while authenticated")

    bearer = {"Authorization": f"Bearer {bot}"}
    wrong = {"Authorization": f"Bearer {bot[:-1]}{'A' if bot[-1] != 'A' else 'B'}"}
    with TestClient(app, raise_server_exceptions=False) as client:
        responses = [
            client.post("/v1/studies", json=peer_group_trial(), headers=bearer),
            client.post("/v1/studies", json={"title": 1}, headers=bearer),
            client.get("/v1/studies", headers=bearer),
            client.get("/v1/versions", headers=wrong),
            client.get("/probe/crash", headers=bearer),
            client.get("/v1/audit", headers={"Authorization": f"Bearer {admin}"}),
        ]
    assert [r.status_code for r in responses] == [201, 422, 200, 401, 500, 200]
    # The statement log (parameters included) and the crash's traceback were both captured.
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    assert any("crash while authenticated" in r.getMessage() or r.exc_info for r in caplog.records)
    for key in (admin, bot):
        secret = key.split("_", 2)[2]
        assert secret not in caplog.text
        assert secret not in listing
        for response in responses:
            assert secret not in _everything(response)


def test_verification_compares_digests_in_constant_time(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown key ids and wrong secrets both go through one hmac.compare_digest of digests."""
    calls: list[tuple[str, str]] = []
    compare = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", spy)
    database = Database.from_settings(Settings(database_url=database_url))
    try:
        with Session(database.write_engine) as session:
            key = create_api_key(session, name="k", scopes=["read"]).plaintext
            public_id, secret = key.split("_", 2)[1:]
            verify_api_key(session, key)
            for bad in (f"lma_{'0' * 16}_{secret}", f"lma_{public_id}_{'x' * 43}"):
                with pytest.raises(api_keys.AuthenticationError):
                    verify_api_key(session, bad)
    finally:
        database.dispose()
    assert len(calls) == 3
    # Digests of equal length, never the secret itself.
    assert all(len(a) == len(b) == 64 for a, b in calls)
    assert all(secret not in a + b for a, b in calls)
