"""Liveness and readiness."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.db.migrate import head_revision
from service.main import create_app
from service.settings import Settings

pytestmark = pytest.mark.db


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "conclusions": {
            "waiting": 0,
            "failing": 0,
            "lag_seconds": 0.0,
            "newest_concluded_version": None,
        },
    }
    assert response.headers["x-request-id"]


def test_ready_reports_backend_and_head_revision(client: TestClient, backend: str) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "database": backend,
        "revision": head_revision(),
    }


def test_ready_is_503_on_an_unmigrated_database(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'blank.sqlite3'}"))
    with TestClient(app) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "migrations" in response.json()["detail"]


def test_ready_is_503_when_the_database_is_unreachable() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    with TestClient(create_app(Settings(database_url=url))) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "The database is not reachable."
