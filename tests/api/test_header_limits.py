"""Request header limits in the application: too many, or too large in all, is a 431 problem."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings


def _client(tmp_path: Path, **overrides: int) -> TestClient:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}", **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def _padding(count: int, size: int = 10) -> dict[str, str]:
    return {f"x-pad-{i}": "a" * size for i in range(count)}


def test_more_headers_than_the_limit_is_431(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        # The test client adds host, accept, accept-encoding, connection and user-agent.
        sent = client.get("/health", headers=_padding(95))
        assert sent.status_code == 200
        refused = client.get("/health", headers={**_padding(96), "x-request-id": "abcdefgh-1"})
    assert refused.status_code == 431
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"].endswith("/request-headers-too-large")
    assert "102 header fields; at most 100" in body["detail"]
    assert body["request_id"] == "abcdefgh-1" == refused.headers["x-request-id"]


def test_headers_over_the_byte_limit_are_431(tmp_path: Path) -> None:
    with _client(tmp_path, max_header_bytes=2048) as client:
        assert client.get("/health", headers=_padding(1, 1800)).status_code == 200
        refused = client.get("/health", headers=_padding(1, 2100))
    assert refused.status_code == 431
    assert "at most 2048" in refused.json()["detail"]


def test_the_limits_are_settings(tmp_path: Path) -> None:
    with _client(tmp_path, max_header_count=200) as client:
        assert client.get("/health", headers=_padding(150)).status_code == 200
