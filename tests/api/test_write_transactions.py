"""A write request in as few transactions as its database allows (issue 23).

On PostgreSQL reads and writes share one engine, and the API key's lookup runs in the write's
own transaction (a checkout, a ping, a BEGIN and a COMMIT fewer per write). On SQLite the write
session takes the database's write lock as it begins, so the lookup keeps a read of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from service.main import create_app
from service.settings import Settings
from tests.api.studies_support import committed_key, committed_settings
from tests.factories import peer_group_trial

pytestmark = pytest.mark.db


@pytest.fixture
def live_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    with committed_settings(backend, tmp_path) as settings:
        # No background workers: every transaction counted is the request's.
        yield settings.model_copy(
            update={"conclusions_in_api": False, "webhooks_deliver_in_api": False}
        )


def test_a_write_looks_its_key_up_in_its_own_transaction_when_the_engine_is_shared(
    live_settings: Settings,
) -> None:
    headers = {"Authorization": f"Bearer {committed_key(live_settings, ['submit'])}"}
    app = create_app(live_settings)
    database = app.state.database
    begun: list[Any] = []
    for engine in {database.read_engine, database.write_engine}:
        event.listen(engine, "begin", begun.append)
    with TestClient(app) as client:
        begun.clear()
        response = client.post("/v1/studies", json=peer_group_trial(), headers=headers)
        assert response.status_code == 201, response.text
        shared = database.read_engine is database.write_engine
        assert len(begun) == (1 if shared else 2)
        # A bad key is still refused, before anything is written.
        refused = client.post(
            "/v1/studies", json=peer_group_trial(), headers={"Authorization": "Bearer lma_1_x"}
        )
        assert refused.status_code == 401
        assert client.get("/v1/studies/counts").json()["evidence_version"] == 1
