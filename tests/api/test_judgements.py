"""Curators' certainty judgements: stored as versions, audited, shown and flagged in answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _judge(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/v1/outcomes/empowerment/judgements", json=body, headers=headers)


def _trials() -> list[dict[str, Any]]:
    return [trial(s, n=250, quality_rating="strong") for s in (0.5, 0.55, 0.45, 0.5)]


def test_a_judgement_replaces_the_rule_and_is_shown(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, _trials())
    before = pooled(client)
    assert before["certainty"]["level"] == "high"

    response = _judge(client, actors.curator, domain="indirectness", downgrade=1,
                      reason="Mostly inpatient populations")  # fmt: skip
    assert response.status_code == 201, response.text
    written = response.json()
    assert written["evidence_version"] == before["evidence_version"] + 1
    assert written["replaced"] is None

    after = pooled(client)
    assert after["evidence_version"] == written["evidence_version"]
    domain = after["certainty"]["domains"]["indirectness"]
    assert (domain["downgrade"], domain["judgement"]) == (1, "serious")
    assert domain["judged_by"] == written["judgement"]["actor"]
    assert "Mostly inpatient populations" in domain["rationale"]
    assert after["certainty"]["level"] == "moderate"
    assert after["statement"]["text"].startswith("Peer support probably increases empowerment")
    [reviewed] = after["certainty"]["reviewed"]
    assert reviewed | {"actor": None} == {
        "domain": "indirectness", "downgrade": 1, "reason": "Mostly inpatient populations",
        "actor": None, "judged_at_version": written["evidence_version"], "outdated": False,
        "rule_downgrade": 0,
    }  # fmt: skip
    # Pinned to the version before the judgement, the answer is as it was.
    assert pooled(client, as_of=before["evidence_version"])["certainty"]["reviewed"] == []
    # The judgement is per category: the peer-group cell has none.
    assert pooled(client, category="peer-group")["certainty"]["reviewed"] == []


def test_newer_evidence_flags_the_judgement_as_outdated(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, _trials())
    _judge(client, actors.curator, domain="risk_of_bias", downgrade=2, reason="Unblinded raters")
    add_batch(client, actors.trusted, [trial(0.4, n=250, quality_rating="strong")])
    [reviewed] = pooled(client)["certainty"]["reviewed"]
    assert reviewed["outdated"] is True
    assert reviewed["rule_downgrade"] == 0


def test_a_new_judgement_closes_the_old_one_and_both_are_audited(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, _trials())
    first = _judge(client, actors.curator, domain="imprecision", downgrade=1, reason="Wide CI")
    second = _judge(client, actors.curator, domain="imprecision", downgrade=0, reason="Rechecked")
    assert second.json()["replaced"]["id"] == first.json()["judgement"]["id"]
    history = client.get("/v1/outcomes/empowerment/judgements").json()["items"]
    assert [(j["reason"], j["valid_to"]) for j in history] == [
        ("Wide CI", second.json()["evidence_version"]),
        ("Rechecked", None),
    ]
    audit = client.get("/v1/audit", headers=actors.admin).json()["items"]
    judged = [e for e in audit if e["resource_type"] == "judgement"]
    assert [e["action"] for e in judged] == ["judge", "judge"]
    assert judged[0]["before"]["reason"] == "Wide CI"
    assert judged[0]["after"]["reason"] == "Rechecked"
    version = client.get(f"/v1/versions/{second.json()['evidence_version']}").json()
    assert version["kind"] == "judgement"


def test_only_curators_judge_and_bad_judgements_are_422(client: TestClient, actors: Actors) -> None:
    body = {"domain": "indirectness", "downgrade": 1, "reason": "Populations differ"}
    assert _judge(client, actors.submitter, **body).status_code == 403
    assert _judge(client, {}, **body).status_code == 401
    for bad, field in [({"downgrade": 3}, "downgrade"), ({"domain": "luck"}, "domain"),
                       ({"category": "nowhere"}, "category")]:  # fmt: skip
        response = _judge(client, actors.curator, **(body | bad))
        assert response.status_code == 422
        assert field in response.text
    missing = client.post("/v1/outcomes/nothing/judgements", json=body, headers=actors.curator)
    assert missing.status_code == 404
