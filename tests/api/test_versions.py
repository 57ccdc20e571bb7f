"""GET /v1/versions and /v1/versions/{n}: one gapless version per committed write."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, action, create, patch, problem_fields
from tests.factories import one_to_one_stigma_trial, peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


@pytest.fixture
def history(client: TestClient, who: Actors) -> dict[str, int]:
    """create (1), create (2), update (3), include (4), exclude (5), withdraw (6)."""
    group = create(client, who.submitter, peer_group_trial())["study"]["id"]
    mentor = create(client, who.submitter, one_to_one_stigma_trial())["study"]["id"]
    assert (
        patch(client, who.submitter, group, {"title": "Revised", "year": 2017}).status_code == 200
    )
    assert action(client, who.curator, group, "include").status_code == 200
    assert action(client, who.curator, mentor, "exclude", "Not peer support").status_code == 200
    assert action(client, who.curator, group, "withdraw", "Retracted").status_code == 200
    return {"group": group, "mentor": mentor}


def _versions(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/versions", params=params)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_no_writes_no_versions(client: TestClient) -> None:
    assert client.get("/v1/versions").json() == {"items": [], "next_cursor": None}


def test_versions_are_gapless_newest_first_with_kind_actor_and_summary(
    client: TestClient, history: dict[str, int]
) -> None:
    items = _versions(client)
    assert [v["number"] for v in items] == [6, 5, 4, 3, 2, 1]
    assert [v["kind"] for v in items] == [
        "withdraw",
        "exclude",
        "include",
        "update",
        "create",
        "create",
    ]
    group, mentor = history["group"], history["mentor"]
    assert [v["study_ids"] for v in items] == [
        [group],
        [mentor],
        [group],
        [group],
        [mentor],
        [group],
    ]
    assert all(v["actor"].startswith("test-key-") for v in items)
    assert items[0]["summary"] == f"Withdrew study {group}: Retracted"
    assert items[3]["summary"] == f"Updated study {group}: title, year"
    assert items[5]["summary"].startswith(f"Added study {group} (pending): ")
    times = [v["created_at"] for v in reversed(items)]
    assert times == sorted(times)


def test_a_version_tells_what_changed(client: TestClient, history: dict[str, int]) -> None:
    update = client.get("/v1/versions/3").json()
    assert update["changes"] == [
        {"study_id": history["group"], "action": "update", "changed_fields": ["title", "year"]}
    ]
    assert update["outcomes"] == ["empowerment", "self-efficacy"]
    exclusion = client.get("/v1/versions/5").json()
    assert exclusion["changes"][0]["changed_fields"] == ["status", "status_reason"]
    assert exclusion["outcomes"] == ["internalized-stigma"]
    assert client.get("/v1/versions/1").json()["changes"][0]["changed_fields"] == []


def test_versions_that_touched_an_outcome(client: TestClient, history: dict[str, int]) -> None:
    assert [v["number"] for v in _versions(client, outcome="internalized-stigma")] == [5, 2]
    assert [v["number"] for v in _versions(client, outcome="self-efficacy")] == [6, 4, 3, 1]


def test_versions_paginate_by_cursor(client: TestClient, history: dict[str, int]) -> None:
    numbers: list[int] = []
    params: dict[str, Any] = {"limit": 4}
    while True:
        page = client.get("/v1/versions", params=params).json()
        numbers += [v["number"] for v in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert numbers == [6, 5, 4, 3, 2, 1]


def test_failed_and_empty_writes_take_no_number(client: TestClient, who: Actors) -> None:
    first = create(client, who.trusted, peer_group_trial())
    invalid = client.post("/v1/studies", json=peer_group_trial(year=1800), headers=who.trusted)
    assert invalid.status_code == 422
    duplicate = peer_group_trial(doi=first["study"]["doi"])
    assert client.post("/v1/studies", json=duplicate, headers=who.trusted).status_code == 409
    unchanged = action(client, who.curator, first["study"]["id"], "include")  # already included
    assert unchanged.json()["evidence_version"] == 1
    second = create(client, who.trusted, one_to_one_stigma_trial())
    assert (first["evidence_version"], second["evidence_version"]) == (1, 2)
    assert [v["number"] for v in _versions(client)] == [2, 1]


def test_unknown_version_is_404(client: TestClient) -> None:
    response = client.get("/v1/versions/1")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_bad_cursor_is_422(client: TestClient) -> None:
    assert problem_fields(client.get("/v1/versions", params={"cursor": "%%%"})) == {"cursor"}
