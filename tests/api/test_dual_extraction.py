"""Dual extraction through the API: discrepancies on constructed disagreements, resolution by a
curator (audited), inclusion blocked until then, and agreement with a hand-computed kappa."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from service.settings import get_settings
from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, action, create, patch
from tests.factories import peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

CODES = ("D1", "D2", "D3", "D4", "D5")


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _rob(*judgements: str) -> dict[str, Any]:
    domains = {c: {"judgement": j} for c, j in zip(CODES, judgements, strict=True)}
    return {"tool": "rob2", "domains": domains}


def _bodies() -> tuple[dict[str, Any], dict[str, Any]]:
    first = peer_group_trial()
    first["outcome_results"][0]["risk_of_bias"] = _rob("low", "some_concerns", "low", "high", "low")
    second = copy.deepcopy(first)
    second["source"] = {"extracted_by": "reviewer-2"}
    empowerment = second["outcome_results"][0]
    empowerment["data"]["intervention"]["mean"] = 2.892  # within tolerance: agrees
    empowerment["data"]["intervention"]["sd"] = 0.36  # a number beyond it
    empowerment["risk_of_bias"] = _rob("low", "some_concerns", "high", "high", "low")
    second["comparator"] = "treatment-as-usual"  # vocabulary
    return first, second


def _discrepancies(extraction: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["field"]: d for d in extraction["discrepancies"]}


def test_discrepancies_block_inclusion_until_a_curator_resolves_each(
    client: TestClient, actors: Actors
) -> None:
    first, second = _bodies()
    study_id = create(client, actors.submitter, first)["study"]["id"]
    same_key = client.post(f"/v1/studies/{study_id}/extractions", json=second,
                           headers=actors.submitter)  # fmt: skip
    assert same_key.status_code == 409
    response = client.post(f"/v1/studies/{study_id}/extractions", json=second,
                           headers=actors.trusted)  # fmt: skip
    assert response.status_code == 201, response.text
    found = _discrepancies(response.json())
    sd = "outcome_results.0.data.intervention.sd"
    d3 = "outcome_results.0.risk_of_bias.domains.D3.judgement"
    assert set(found) == {sd, "comparator", d3}
    assert (found[sd]["first_value"], found[sd]["second_value"], found[sd]["kind"]) == (
        0.31, 0.36, "number",
    )  # fmt: skip
    assert found[d3]["kind"] == "risk_of_bias"
    listed = client.get(f"/v1/studies/{study_id}/extractions").json()
    assert listed["open_discrepancies"] == 3

    blocked = action(client, actors.curator, study_id, "include")
    assert blocked.status_code == 409
    assert "3 open extraction discrepancies" in blocked.json()["detail"]

    def resolve(field: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"/v1/studies/{study_id}/discrepancies/{found[field]['id']}/resolve"
        answer = client.post(url, json=body, headers=actors.curator)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    kept_second = resolve(sd, {"choice": "second", "reason": "Table 2 says 0.36"})
    assert kept_second["study_updated"] is True
    kept_first = resolve("comparator", {"choice": "first", "reason": "the paper: waiting list"})
    assert kept_first["study_updated"] is False
    third = resolve(d3, {"choice": "other", "value": "some_concerns", "reason": "consensus"})
    assert third["discrepancy"]["resolved_value"] == "some_concerns"
    again = client.post(
        f"/v1/studies/{study_id}/discrepancies/{found[sd]['id']}/resolve",
        json={"choice": "first", "reason": "x"}, headers=actors.curator,
    )  # fmt: skip
    assert again.status_code == 409

    study = client.get(f"/v1/studies/{study_id}").json()
    empowerment = study["outcome_results"][0]
    assert empowerment["data"]["intervention"]["sd"] == 0.36
    assert empowerment["risk_of_bias"]["domains"]["D3"]["judgement"] == "some_concerns"
    assert study["comparator"] == "waiting-list"
    audit = client.get("/v1/audit", params={"limit": 50}, headers=actors.admin).json()["items"]
    resolutions = [e for e in audit if e["resource_type"] == "discrepancy"]
    assert {e["after"]["resolution"] for e in resolutions} == {"first", "second", "other"}
    assert any(e["resource_type"] == "extraction" for e in audit)
    assert action(client, actors.curator, study_id, "include").status_code == 200


def test_an_extraction_of_a_study_that_does_not_exist_is_a_404(
    client: TestClient, actors: Actors
) -> None:
    _, second = _bodies()
    response = client.post("/v1/studies/999999/extractions", json=second, headers=actors.trusted)
    assert response.status_code == 404, response.text
    assert "There is no study 999999" in response.json()["detail"]


def test_resolving_a_discrepancy_the_study_does_not_have_is_a_404(
    client: TestClient, actors: Actors
) -> None:
    study_id = create(client, actors.submitter, _bodies()[0])["study"]["id"]
    url = f"/v1/studies/{study_id}/discrepancies/999999/resolve"
    response = client.post(url, json={"choice": "first", "reason": "r"}, headers=actors.curator)
    assert response.status_code == 404, response.text
    assert f"Study {study_id} has no discrepancy 999999" in response.json()["detail"]


def test_agreement_per_pair_with_kappa_by_hand(client: TestClient, actors: Actors) -> None:
    first, second = _bodies()
    study_id = create(client, actors.submitter, first)["study"]["id"]
    extraction = client.post(f"/v1/studies/{study_id}/extractions", json=second,
                             headers=actors.trusted).json()  # fmt: skip
    [pair] = client.get("/v1/extractions/agreement").json()["items"]
    assert {pair["first_actor"], pair["second_actor"]} == {
        extraction["first_actor"], extraction["actor"],
    }  # fmt: skip
    assert pair["fields_compared"] == extraction["compared_fields"]
    assert pair["fields_agreed"] == extraction["compared_fields"] - 3
    # RoB domains: first low, sc, low, high, low; second low, sc, high, high, low.
    # p_o = 4/5; marginals 3/1/1 and 2/1/2: p_e = (3*2 + 1*1 + 1*2) / 25 = 0.36;
    # kappa = (0.8 - 0.36) / 0.64 = 0.6875.
    assert pair["rob_judgements"] == 5
    assert pair["rob_percent_agreement"] == pytest.approx(80.0)
    assert pair["rob_kappa"] == pytest.approx(0.6875)


@pytest.fixture
def dual_extraction_required(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DUAL_EXTRACTION_REQUIRED", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("dual_extraction_required")
def test_when_required_a_study_waits_for_its_second_extraction(
    client: TestClient, actors: Actors
) -> None:
    first, _ = _bodies()
    created = create(client, actors.trusted, first)["study"]
    assert created["status"] == "pending"  # even from a trusted key
    blocked = action(client, actors.curator, created["id"], "include")
    assert blocked.status_code == 409
    assert "second, independent extraction" in blocked.json()["detail"]
    same = copy.deepcopy(first)
    response = client.post(f"/v1/studies/{created['id']}/extractions", json=same,
                           headers=actors.submitter)  # fmt: skip
    assert response.json()["discrepancies"] == []
    assert action(client, actors.curator, created["id"], "include").status_code == 200


def test_the_curation_queue_shows_open_discrepancies_side_by_side(
    client: TestClient, actors: Actors
) -> None:
    first, second = _bodies()
    study_id = create(client, actors.submitter, first)["study"]["id"]
    extraction = client.post(f"/v1/studies/{study_id}/extractions", json=second,
                             headers=actors.trusted).json()  # fmt: skip
    key = actors.key("curate")["Authorization"].removeprefix("Bearer ")
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/sign-in").text)
    assert token is not None
    client.post("/sign-in", data={"key": key, "csrf": token.group(1)}, follow_redirects=False)
    page = client.get("/curate").text
    for d in extraction["discrepancies"]:
        row = re.search(rf'<tr id="discrepancy-{d["id"]}">(.*?)</tr>', page, re.S)
        assert row is not None, d["field"]
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1))
        assert cells == [d["field"], str(d["first_value"]), str(d["second_value"])]


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"choice": "second", "reason": "Table 2"}, True),
        ({"choice": "other", "value": 0.4, "reason": "consensus"}, True),
        ({"choice": "first", "value": 0.4, "reason": "consensus"}, False),  # value with first
        ({"choice": "other", "reason": "consensus"}, False),  # other without a value
        ({"choice": "other", "value": None, "reason": "consensus"}, False),
        ({"choice": "first", "reason": " \t "}, False),  # blank once stripped
    ],
)
def test_the_spec_states_the_resolution_rules(
    client: TestClient, actors: Actors, body: dict[str, Any], valid: bool
) -> None:
    """Issue 25: the spec's schema and the validator agree on which resolutions are valid."""
    components = client.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/ResolutionCreate", "components": components}
    assert jsonschema_rs.is_valid(schema, body) is valid
    first, second = _bodies()
    study_id = create(client, actors.submitter, first)["study"]["id"]
    extraction = client.post(f"/v1/studies/{study_id}/extractions", json=second,
                             headers=actors.trusted).json()  # fmt: skip
    sd = _discrepancies(extraction)["outcome_results.0.data.intervention.sd"]
    url = f"/v1/studies/{study_id}/discrepancies/{sd['id']}/resolve"
    answer = client.post(url, json=body, headers=actors.curator)
    assert answer.status_code == (200 if valid else 422), answer.text


def test_a_field_the_study_no_longer_has_is_a_conflict(client: TestClient, actors: Actors) -> None:
    """The request is well formed; the study's current state cannot take it: 409, not 422."""
    first, second = _bodies()
    study_id = create(client, actors.submitter, first)["study"]["id"]
    extraction = client.post(f"/v1/studies/{study_id}/extractions", json=second,
                             headers=actors.trusted).json()  # fmt: skip
    d3 = _discrepancies(extraction)["outcome_results.0.risk_of_bias.domains.D3.judgement"]
    results = copy.deepcopy(first["outcome_results"])
    results[0]["risk_of_bias"] = None
    changed = patch(client, actors.submitter, study_id, {"outcome_results": results})
    assert changed.status_code == 200, changed.text
    answer = client.post(
        f"/v1/studies/{study_id}/discrepancies/{d3['id']}/resolve",
        json={"choice": "second", "reason": "consensus"}, headers=actors.curator,
    )  # fmt: skip
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["choice"]
    assert "change it with PATCH" in answer.json()["detail"]
