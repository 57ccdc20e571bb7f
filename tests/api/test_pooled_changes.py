"""``pooled_changes`` in write responses: the default-spec result before and after the write."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.studies_support import Actors, action, create, patch

pytestmark = pytest.mark.db

SUMMARY = (
    "status",
    "k",
    "participants",
    "estimate",
    "ci_lower",
    "ci_upper",
    "pi_lower",
    "pi_upper",
    "tau2",
    "i2",
)


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def expected(client: TestClient, outcome: str, version: int) -> dict[str, Any]:
    """What GET .../pooled?as_of=version says, in a snapshot's shape."""
    answer = pooled(client, outcome, as_of=version)
    result = answer["result"] or {}
    snapshot = {key: answer[key] if key in answer else result.get(key) for key in SUMMARY}
    return {"evidence_version": version, **snapshot}


def check(client: TestClient, body: dict[str, Any], outcomes: list[str]) -> list[dict[str, Any]]:
    """The write's pooled_changes name ``outcomes`` and agree with GET at both versions."""
    version = body["evidence_version"]
    changes = body["pooled_changes"]
    assert [change["outcome"] for change in changes] == outcomes
    for change in changes:
        assert change["before"] == expected(client, change["outcome"], version - 1)
        assert change["after"] == expected(client, change["outcome"], version)
    return changes


def test_create_and_batch_report_before_and_after(client: TestClient, actors: Actors) -> None:
    batch = add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(3)])
    (change,) = check(client, batch, ["empowerment"])
    assert (change["before"]["k"], change["after"]["k"]) == (0, 3)
    assert change["after"]["status"] == "insufficient_evidence"

    fourth = create(client, actors.trusted, trial(0.4))
    (change,) = check(client, fourth, ["empowerment"])
    assert (change["before"]["status"], change["after"]["status"]) == (
        "insufficient_evidence",
        "pooled",
    )
    assert change["before"]["estimate"] is None
    assert change["after"]["estimate"] is not None


def test_a_pending_study_changes_nothing_until_included(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    pending = create(client, actors.submitter, trial(0.9))
    # Not counted (issue 16): "after" previews the study's inclusion; the pooled result at
    # the new version is unchanged.
    (change,) = pending["pooled_changes"]
    assert change["counted"] is False
    version = pending["evidence_version"]
    assert change["before"] == expected(client, "empowerment", version - 1)
    assert (
        expected(client, "empowerment", version) | {"evidence_version": version - 1}
        == (change["before"])
    )
    assert (change["before"]["k"], change["after"]["k"]) == (4, 5)
    study_id = pending["study"]["id"]
    included = action(client, actors.curator, study_id, "include")
    (change,) = check(client, included.json(), ["empowerment"])
    assert (change["before"]["k"], change["after"]["k"]) == (4, 5)
    again = action(client, actors.curator, study_id, "include")  # nothing to change
    assert again.json()["pooled_changes"] == []
    excluded = action(client, actors.curator, study_id, "exclude", "Not peer support.")
    (change,) = check(client, excluded.json(), ["empowerment"])
    assert (change["before"]["k"], change["after"]["k"]) == (5, 4)


def test_patch_and_withdraw(client: TestClient, actors: Actors) -> None:
    created = add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(5)])
    study_id = created["studies"][0]["id"]
    moved = {
        "outcome_results": [
            outcome_result(0.3, outcome="self-efficacy", instrument="general-self-efficacy-scale")
        ]
    }
    response = patch(client, actors.trusted, study_id, moved)
    assert response.status_code == 200, response.text
    empowerment, self_efficacy = check(client, response.json(), ["empowerment", "self-efficacy"])
    assert (empowerment["before"]["k"], empowerment["after"]["k"]) == (5, 4)
    assert (self_efficacy["before"]["k"], self_efficacy["after"]["k"]) == (0, 1)

    withdrawn = action(
        client, actors.trusted, created["studies"][1]["id"], "withdraw", "Duplicate record."
    )
    (change,) = check(client, withdrawn.json(), ["empowerment"])
    assert (change["before"]["status"], change["after"]["status"]) == (
        "pooled",
        "insufficient_evidence",
    )
