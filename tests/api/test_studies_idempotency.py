"""Idempotency-Key on the study writes: replays, reuse with another body, concurrent retries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from service.db.engine import Database
from service.db.models import EvidenceVersion, Study
from service.main import create_app
from service.settings import Settings
from service.usecases.studies import service as studies
from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import (
    Actors,
    committed_key,
    committed_settings,
    create,
    etag,
    head_version,
    listed_ids,
    wait_until_a_writer_waits_for_a_lock,
)
from tests.factories import peer_group_trial

pytestmark = pytest.mark.db


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _post(client: TestClient, headers: dict[str, str], body: object, key: str) -> Response:
    return client.post("/v1/studies", json=body, headers={**headers, "Idempotency-Key": key})


def test_a_retry_replays_the_first_response_and_writes_nothing(
    client: TestClient, who: Actors
) -> None:
    body = peer_group_trial()
    first = _post(client, who.trusted, body, "upload-42")
    second = _post(client, who.trusted, body, "upload-42")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["idempotent-replayed"] == "true"
    assert len(listed_ids(client)) == 1
    assert head_version(client) == 1


def test_the_same_key_with_another_body_is_422(client: TestClient, who: Actors) -> None:
    assert _post(client, who.trusted, peer_group_trial(), "upload-43").status_code == 201
    reused = _post(client, who.trusted, peer_group_trial(), "upload-43")
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert head_version(client) == 1


def test_a_refused_write_is_not_remembered(client: TestClient, who: Actors) -> None:
    body = peer_group_trial(year=1900)
    assert _post(client, who.trusted, body, "upload-44").status_code == 422
    body["year"] = 2016
    assert _post(client, who.trusted, body, "upload-44").status_code == 201


def test_patch_and_curation_replay_too(client: TestClient, who: Actors) -> None:
    study_id = create(client, who.submitter, peer_group_trial())["study"]["id"]
    patch_headers = {**who.submitter, "If-Match": etag(client, study_id), "Idempotency-Key": "p1"}
    responses = [
        client.patch(f"/v1/studies/{study_id}", json={"year": 2015}, headers=patch_headers)
        for _ in range(2)
    ]
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].content == responses[0].content
    include_headers = {**who.curator, "Idempotency-Key": "i1"}
    for _ in range(2):
        included = client.post(f"/v1/studies/{study_id}/include", headers=include_headers)
        assert included.json()["evidence_version"] == 3
    assert head_version(client) == 3


# --- two requests with one key at the same time, with transactions that really commit ---------


@pytest.fixture
def live_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    with committed_settings(backend, tmp_path) as settings:
        yield settings


def test_two_concurrent_requests_with_one_key_write_once(
    live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {
        "Authorization": f"Bearer {committed_key(live_settings, ['submit'])}",
        "Idempotency-Key": "bot-upload-1",
    }
    entered, release = threading.Event(), threading.Event()
    real_create = studies.create_study

    def held_open(*args: Any, **kwargs: Any) -> Any:
        # The first request stops inside its transaction, having claimed the key.
        entered.set()
        release.wait(10)
        return real_create(*args, **kwargs)

    monkeypatch.setattr(studies, "create_study", held_open)
    body = peer_group_trial()
    app = create_app(live_settings)
    with TestClient(app) as client, ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, "/v1/studies", json=body, headers=headers)
        assert entered.wait(10)
        second = pool.submit(client.post, "/v1/studies", json=body, headers=headers)
        wait_until_a_writer_waits_for_a_lock(live_settings)
        release.set()
        responses = [first.result(timeout=30), second.result(timeout=30)]
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[1].content == responses[0].content
    assert responses[1].headers["idempotent-replayed"] == "true"
    database = Database.from_settings(live_settings)
    try:
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(Study)) == 1
            assert session.scalar(select(func.max(EvidenceVersion.number))) == 1
    finally:
        database.dispose()
