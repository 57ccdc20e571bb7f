"""GET /v1/audit (admin): every write with its actor, time, request id, and before/after."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, action, create, etag
from tests.factories import cluster_peer_service_trial, one_to_one_stigma_trial, peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _entries(client: TestClient, who: Actors, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/audit", params=params, headers=who.admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_every_write_is_audited_with_before_and_after(client: TestClient, who: Actors) -> None:
    created = client.post(
        "/v1/studies",
        json=peer_group_trial(),
        headers={**who.submitter, "X-Request-ID": "req-create-0001"},
    ).json()
    study_id = created["study"]["id"]
    updated = client.patch(
        f"/v1/studies/{study_id}",
        json={"year": 2015},
        headers={
            **who.submitter,
            "If-Match": etag(client, study_id),
            "X-Request-ID": "req-patch-01",
        },
    ).json()
    withdrawn = action(client, who.submitter, study_id, "withdraw", "Retracted").json()

    entries = _entries(client, who)
    assert [e["action"] for e in entries] == ["withdraw", "update", "create"]
    assert [e["evidence_version"] for e in entries] == [3, 2, 1]
    assert {(e["resource_type"], e["resource_id"]) for e in entries} == {("study", study_id)}
    withdraw, update, create_entry = entries
    assert create_entry["request_id"] == "req-create-0001"
    assert update["request_id"] == "req-patch-01"
    assert withdraw["request_id"]  # generated when the client sends none
    assert create_entry["before"] is None
    assert create_entry["after"] == {**created["study"]}
    assert update["before"] == created["study"]  # as it was shown then (valid_to still null)
    assert update["after"] == updated["study"]
    assert (update["before"]["year"], update["after"]["year"]) == (2016, 2015)
    assert withdraw["before"] == updated["study"]
    assert withdraw["after"] == withdrawn["study"]
    actors = {e["actor"] for e in entries}
    assert len(actors) == 1
    assert actors.pop().startswith("test-key-")
    assert all(e["created_at"].endswith(("+00:00", "Z")) for e in entries)


def test_a_batch_is_one_entry_per_study_in_one_version(client: TestClient, who: Actors) -> None:
    bodies = [peer_group_trial(), one_to_one_stigma_trial(), cluster_peer_service_trial()]
    response = client.post("/v1/studies/batch", json={"studies": bodies}, headers=who.trusted)
    ids = [s["id"] for s in response.json()["studies"]]
    entries = _entries(client, who)
    assert sorted(e["resource_id"] for e in entries) == sorted(ids)
    assert {(e["action"], e["evidence_version"]) for e in entries} == {("create", 1)}


def test_refused_writes_leave_no_entry(client: TestClient, who: Actors) -> None:
    client.post("/v1/studies", json=peer_group_trial(year=1800), headers=who.trusted)
    client.post("/v1/studies", json=peer_group_trial(), headers=who.key("read"))
    assert _entries(client, who) == []


def test_audit_filters_and_pages(client: TestClient, who: Actors) -> None:
    first = create(client, who.submitter, peer_group_trial())["study"]["id"]
    second = create(client, who.trusted, one_to_one_stigma_trial())["study"]["id"]
    assert action(client, who.curator, first, "include").status_code == 200
    assert [e["evidence_version"] for e in _entries(client, who, study_id=first)] == [3, 1]
    trusted_actor = _entries(client, who, study_id=second)[0]["actor"]
    assert [e["resource_id"] for e in _entries(client, who, actor=trusted_actor)] == [second]
    page = client.get("/v1/audit", params={"limit": 2}, headers=who.admin).json()
    assert [e["evidence_version"] for e in page["items"]] == [3, 2]
    rest = client.get(
        "/v1/audit", params={"limit": 2, "cursor": page["next_cursor"]}, headers=who.admin
    ).json()
    assert ([e["evidence_version"] for e in rest["items"]], rest["next_cursor"]) == ([1], None)
