"""RoB 2 (and RoB 1) assessments per result: stored, versioned, audited, and read by certainty."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.studies_support import Actors, patch

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

FIVE = ("D1", "D2", "D3", "D4", "D5")


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def rob2(*judgements: str, **extra: Any) -> dict[str, Any]:
    """A RoB 2 assessment with the five domains judged in order."""
    domains = {
        code: {"judgement": j, "support": f"{code} as reported"}
        for code, j in zip(FIVE, judgements, strict=False)
    }
    return {"tool": "rob2", "domains": domains, **extra}


def assessed_trial(assessment: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
    result = outcome_result(0.4, n=60)
    result["risk_of_bias"] = assessment
    # A weak quality rating: certainty must read the RoB 2 judgement, not the rating.
    return trial(0.4, n=60, results=[result], quality_rating="weak", **fields)


def test_an_assessment_is_stored_with_its_overall_judgement(
    client: TestClient, actors: Actors
) -> None:
    raised = rob2("some_concerns", "low", "some_concerns", "low", "low", raised_to_high="two")
    add_batch(client, actors.trusted, [assessed_trial(raised)])
    study_id = pooled(client)["studies"][0]["study_id"]
    stored = client.get(f"/v1/studies/{study_id}").json()["outcome_results"][0]["risk_of_bias"]
    assert stored["overall"] == "high"
    assert stored["overall_by_algorithm"] == "some_concerns"
    assert stored["effect_of_interest"] == "assignment"
    assert stored["domains"]["D1"] == {"judgement": "some_concerns", "support": "D1 as reported"}
    assert pooled(client)["studies"][0]["risk_of_bias"] == "high"


def test_a_change_of_one_result_is_a_version_with_an_audit_entry(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [assessed_trial(rob2(*["low"] * 5))])
    study_id = pooled(client)["studies"][0]["study_id"]
    study = client.get(f"/v1/studies/{study_id}").json()
    result = {
        k: v for k, v in study["outcome_results"][0].items() if k not in {"effect", "data_warnings"}
    }
    result["risk_of_bias"] = rob2("low", "low", "high", "low", "low")
    response = patch(client, actors.curator, study_id, {"outcome_results": [result]})
    assert response.status_code == 200, response.text
    version = response.json()["evidence_version"]
    audit = client.get("/v1/audit", params={"study_id": study_id}, headers=actors.admin).json()
    newest = audit["items"][0]
    assert newest["evidence_version"] == version
    before = newest["before"]["outcome_results"][0]["risk_of_bias"]
    after = newest["after"]["outcome_results"][0]["risk_of_bias"]
    assert (before["overall"], after["overall"]) == ("low", "high")
    old = client.get(f"/v1/studies/{study_id}", params={"as_of": version - 1}).json()
    assert old["outcome_results"][0]["risk_of_bias"]["overall"] == "low"


def test_certainty_changes_when_one_studys_rob2_changes(client: TestClient, actors: Actors) -> None:
    low, high = rob2(*["low"] * 5), rob2("high", "low", "low", "low", "low")
    # Four equal trials (25% of the weight each): three at low risk, 75%, no downgrade.
    add_batch(client, actors.trusted, [assessed_trial(a) for a in (low, low, low, high)])
    before = pooled(client)
    domain = before["certainty"]["domains"]["risk_of_bias"]
    assert domain["downgrade"] == 0
    assert domain["inputs"]["low_risk_weight_percent"] == pytest.approx(75.0)
    assert domain["inputs"]["assessed_with_rob"] == 4
    assert domain["inputs"]["low_risk_k"] == 3
    changed = before["studies"][0]["study_id"]
    study = client.get(f"/v1/studies/{changed}").json()
    result = {
        k: v for k, v in study["outcome_results"][0].items() if k not in {"effect", "data_warnings"}
    }
    result["risk_of_bias"] = rob2("low", "some_concerns", "low", "low", "low")
    assert patch(client, actors.curator, changed, {"outcome_results": [result]}).status_code == 200
    after = pooled(client)
    domain = after["certainty"]["domains"]["risk_of_bias"]
    assert domain["downgrade"] == 1
    assert domain["inputs"]["low_risk_weight_percent"] == pytest.approx(50.0)
    assert domain["inputs"]["low_risk_k"] == 2
    levels = ("very_low", "low", "moderate", "high")
    drop = levels.index(before["certainty"]["level"]) - levels.index(after["certainty"]["level"])
    assert drop == 1


def test_without_an_assessment_the_quality_rating_decides(
    client: TestClient, actors: Actors
) -> None:
    bodies = [assessed_trial(None) for _ in range(4)]
    for body in bodies:
        body["quality_rating"] = "strong"
    add_batch(client, actors.trusted, bodies)
    domain = pooled(client)["certainty"]["domains"]["risk_of_bias"]
    assert domain["downgrade"] == 0
    assert "assessed_with_rob" not in domain["inputs"]


@pytest.mark.parametrize(
    ("assessment", "field"),
    [
        (rob2("low", "low", "low", "low"), "D5"),
        (rob2("low", "low", "high", "low", "low", raised_to_high="why"), "raised"),
        ({"tool": "rob1", "domains": {"random_sequence_generation": {"judgement": "low"}}}, "rob1"),
        (rob2("low", "low", "unclear", "low", "low"), "one of"),
    ],
)
def test_an_invalid_assessment_is_a_422(
    client: TestClient, actors: Actors, assessment: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/studies", json=assessed_trial(assessment), headers=actors.trusted)
    assert response.status_code == 422, response.text
    assert field in response.text


ROB1 = (
    "random_sequence_generation", "allocation_concealment", "blinding_participants_personnel",
    "blinding_outcome_assessment", "incomplete_outcome_data", "selective_reporting", "other_bias",
)  # fmt: skip
ROB1_LOW = {"tool": "rob1", "domains": {name: {"judgement": "low"} for name in ROB1}}
TWO_CONCERNS = ("some_concerns", "low", "some_concerns", "low", "low")


def five_low_and(code: str, judgement: str) -> dict[str, Any]:
    """RoB 2 with the five domains low and one more, ``code``."""
    assessment = rob2(*["low"] * 5)
    assessment["domains"][code] = {"judgement": judgement}
    return assessment


@pytest.mark.parametrize(
    ("assessment", "valid"),
    [
        (rob2(*["low"] * 5), True),
        ({"domains": rob2(*["low"] * 5)["domains"]}, True),  # tool omitted: RoB 2
        (five_low_and("D1b", "high"), True),  # a cluster trial's domain
        (rob2(*TWO_CONCERNS, raised_to_high="two concerns"), True),
        (ROB1_LOW, True),
        (rob2("low", "low", "low", "low"), False),  # D5 missing
        (five_low_and("D6", "low"), False),
        (five_low_and("D1\u0000", "low"), False),
        (rob2("low", "low", "unclear", "low", "low"), False),  # a RoB 1 judgement
        (rob2("some_concerns", "low", "low", "low", "low", raised_to_high="one"), False),
        (rob2(*TWO_CONCERNS[:4], "high", raised_to_high="a high"), False),
        (ROB1_LOW | {"effect_of_interest": "assignment"}, False),
        (ROB1_LOW | {"raised_to_high": "why"}, False),
        ({"tool": "rob1", "domains": rob2(*["low"] * 5)["domains"]}, False),
    ],
)
def test_the_spec_states_the_rules_of_each_tool(
    client: TestClient, actors: Actors, assessment: dict[str, Any], valid: bool
) -> None:
    """Issue 25: the spec states each tool's domains, judgements and the raise to high
    (if/then/else on ``tool``), and the schema and the service agree."""
    components = client.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/RiskOfBiasCreate", "components": components}
    assert jsonschema_rs.is_valid(schema, assessment) is valid
    response = client.post("/v1/studies", json=assessed_trial(assessment), headers=actors.trusted)
    assert response.status_code == (201 if valid else 422), response.text
    if not valid:
        fields = {error["field"] for error in response.json()["errors"]}
        assert {f.split(".risk_of_bias")[0] for f in fields} == {"outcome_results.0"}, fields


def test_rob1_is_accepted_and_shown_as_such(client: TestClient, actors: Actors) -> None:
    names = [
        "random_sequence_generation", "allocation_concealment", "blinding_participants_personnel",
        "blinding_outcome_assessment", "incomplete_outcome_data", "selective_reporting",
        "other_bias",
    ]  # fmt: skip
    domains = {name: {"judgement": "low"} for name in names}
    domains["other_bias"] = {"judgement": "unclear"}
    add_batch(client, actors.trusted, [assessed_trial({"tool": "rob1", "domains": domains})])
    answer = pooled(client)
    study = client.get(f"/v1/studies/{answer['studies'][0]['study_id']}").json()
    stored = study["outcome_results"][0]["risk_of_bias"]
    assert (stored["tool"], stored["overall"], stored["effect_of_interest"]) == (
        "rob1", "unclear", None,
    )  # fmt: skip
    assert answer["studies"][0]["risk_of_bias"] == "unclear"
