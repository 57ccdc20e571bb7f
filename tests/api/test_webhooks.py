"""The webhook endpoints' API: scopes, ownership, secrets shown once, URL checks."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, problem_fields

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend")]
BODY = {"url": "https://example.org/hooks", "event_types": ["conclusion.changed"]}


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def test_subscribe_read_change_delete(client: TestClient, actors: Actors) -> None:
    subscriber = actors.key("subscribe")
    created = client.post(
        "/v1/webhooks", json={**BODY, "outcomes": ["empowerment"]}, headers=subscriber
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert created.headers["location"] == f"/v1/webhooks/{hook['id']}"
    assert hook["secret"].startswith("whsec_")
    assert len(base64.b64decode(hook["secret"].removeprefix("whsec_"))) == 32
    read = client.get(f"/v1/webhooks/{hook['id']}", headers=subscriber)
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert read.json()["outcomes"] == ["empowerment"]
    changed = client.patch(
        f"/v1/webhooks/{hook['id']}",
        json={"event_types": ["pooled.changed"], "enabled": False},
        headers=subscriber,
    )
    assert changed.json()["event_types"] == ["pooled.changed"]
    assert changed.json()["enabled"] is False
    listed = client.get("/v1/webhooks", headers=subscriber).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=subscriber).status_code == 204
    assert client.get(f"/v1/webhooks/{hook['id']}", headers=subscriber).status_code == 404


def test_scopes_and_ownership(client: TestClient, actors: Actors) -> None:
    assert client.post("/v1/webhooks", json=BODY).status_code == 401
    assert client.post("/v1/webhooks", json=BODY, headers=actors.submitter).status_code == 403
    owner = actors.key("subscribe")
    hook = client.post("/v1/webhooks", json=BODY, headers=owner).json()
    stranger = actors.key("subscribe")
    for method, path in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("POST", "/test"),
        ("GET", "/deliveries"),
    ]:
        response = client.request(
            method,
            f"/v1/webhooks/{hook['id']}{path}",
            headers=stranger,
            json={} if method == "PATCH" else None,
        )
        assert response.status_code == 404, (method, path)
    assert client.get("/v1/webhooks", headers=stranger).json()["items"] == []
    assert [h["id"] for h in client.get("/v1/webhooks", headers=actors.admin).json()["items"]] == [
        hook["id"]
    ]


def test_rotation_keeps_the_old_secret_for_a_day(client: TestClient, actors: Actors) -> None:
    owner = actors.key("subscribe")
    hook = client.post("/v1/webhooks", json=BODY, headers=owner).json()
    rotated = client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=owner).json()
    assert rotated["secret"] != hook["secret"]
    until = datetime.fromisoformat(rotated["previous_secret_until"])
    assert timedelta(hours=23, minutes=59) < until - datetime.fromisoformat(rotated["updated_at"])


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/hook",  # http needs a setting
        "ftp://example.org/hook",
        "https://user:pw@example.org/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.1.1/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[64:ff9b::a00:1]/hook",
    ],
)
def test_unsafe_urls_are_422_naming_the_url(client: TestClient, actors: Actors, url: str) -> None:
    response = client.post("/v1/webhooks", json={**BODY, "url": url}, headers=actors.admin)
    assert problem_fields(response) == {"url"}


def test_bad_bodies_are_422(client: TestClient, actors: Actors) -> None:
    for body in (
        {**BODY, "event_types": []},
        {**BODY, "event_types": ["study.eaten"]},
        {"url": BODY["url"]},
        {**BODY, "secret": "mine"},
    ):
        assert client.post("/v1/webhooks", json=body, headers=actors.admin).status_code == 422
    hook = client.post("/v1/webhooks", json=BODY, headers=actors.admin).json()
    redeliver = f"/v1/webhooks/{hook['id']}/redeliver"
    assert client.post(redeliver, json={}, headers=actors.admin).status_code == 422
    assert client.post(redeliver, json={"event_id": "7"}, headers=actors.admin).status_code == 422
    missing = client.post(redeliver, json={"event_id": "evt_7"}, headers=actors.admin)
    assert missing.status_code == 404


def test_a_private_target_names_the_setting_and_the_restart(
    client: TestClient, actors: Actors
) -> None:
    url = "https://127.0.0.1:9000/hook"
    response = client.post("/v1/webhooks", json={**BODY, "url": url}, headers=actors.admin)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert "WEBHOOKS_ALLOW_PRIVATE_TARGETS=true" in error["message"]
    assert "restart" in error["message"]
    assert error["message"] in response.json()["detail"]
