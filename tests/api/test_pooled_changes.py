"""A write's pooled changes: the default-spec result before and after it.

Linked from the write's answer (``changes``, ``Link``) and served by
``GET /v1/versions/{n}/changes``; inline with ``?include=pooled_changes``.
"""

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


def linked(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The pooled changes the write's answer links to."""
    assert body["pooled_changes"] is None  # not computed by the write
    assert body["changes"] == f"/v1/versions/{body['evidence_version']}/changes"
    response = client.get(body["changes"])
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["evidence_version"] == body["evidence_version"]
    assert answer["concluded"] is True  # the tests' worker concludes inline
    changes: list[dict[str, Any]] = answer["pooled_changes"]
    return changes


def check(client: TestClient, body: dict[str, Any], outcomes: list[str]) -> list[dict[str, Any]]:
    """The write's pooled changes name ``outcomes`` and agree with GET at both versions."""
    version = body["evidence_version"]
    changes = linked(client, body)
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
    response = client.post(
        "/v1/studies?include=pooled_changes", json=trial(0.9), headers=actors.submitter
    )
    assert response.status_code == 201, response.text
    pending = response.json()
    # Not counted (issue 16): "after" previews the study's inclusion; the pooled result at
    # the new version is unchanged.
    (change,) = pending["pooled_changes"]
    assert change["counted"] is False
    version = pending["evidence_version"]
    (real,) = linked(client, {**pending, "pooled_changes": None})
    assert real["before"]["k"] == real["after"]["k"] == 4
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


def test_include_pooled_changes_answers_what_the_link_serves(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    response = client.post(
        "/v1/studies?include=pooled_changes", json=trial(0.5), headers=actors.trusted
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["pooled_changes"] == linked(client, {**body, "pooled_changes": None})
    assert response.headers["Link"] == f'<{body["changes"]}>; rel="pooled-changes"'
    assert body["preview"] is None  # included: nothing to preview


def test_a_pending_write_links_its_preview(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    pending = create(client, actors.submitter, trial(0.9))
    study_id = pending["study"]["id"]
    assert pending["preview"] == f"/v1/studies/{study_id}/preview"
    response = client.post("/v1/studies", json=trial(1.1), headers=actors.submitter)
    assert f'<{response.json()["preview"]}>; rel="preview"' in response.headers["Link"]
    preview = client.get(pending["preview"], headers=actors.submitter)
    assert preview.status_code == 200, preview.text
    (change,) = preview.json()["pooled_changes"]
    assert (change["before"]["k"], change["after"]["k"]) == (4, 5)
    other = client.get(pending["preview"], headers=actors.key("submit"))
    assert other.status_code == 403  # someone else's study
    # Nothing was kept: the study is still pending and the pooled result still has four.
    assert pooled(client, "empowerment")["k"] == 4


def test_changes_of_an_unknown_version_is_404(client: TestClient) -> None:
    assert client.get("/v1/versions/99/changes").status_code == 404
