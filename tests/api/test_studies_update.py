"""PATCH with If-Match, curation (include / exclude), withdrawal, and as_of reconstruction."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from service.stats.effect_sizes import smd_from_means
from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import (
    Actors,
    action,
    create,
    etag,
    head_version,
    listed_ids,
    patch,
    problem_fields,
)
from tests.factories import means, one_to_one_stigma_trial, peer_group_trial, result

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


@pytest.fixture
def study(client: TestClient, who: Actors) -> dict[str, Any]:
    """A pending peer-group trial, written in version 1."""
    created: dict[str, Any] = create(client, who.submitter, peer_group_trial())["study"]
    return created


# --- PATCH and its preconditions -------------------------------------------------------------


def test_patch_writes_a_new_revision_in_a_new_version(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    response = patch(client, who.submitter, study["id"], {"title": "Corrected title"})
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["evidence_version"] == 2
    assert payload["study"]["title"] == "Corrected title"
    assert payload["study"]["valid_from"] == 2
    assert payload["study"]["created_version"] == 1
    assert response.headers["etag"] == f'"study-{study["id"]}-v2"'
    assert etag(client, study["id"]) == response.headers["etag"]
    unchanged = {"title", "valid_from"}
    assert {k: v for k, v in payload["study"].items() if k not in unchanged} == {
        k: v for k, v in study.items() if k not in unchanged
    }


def test_patch_without_if_match_is_428(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    response = client.patch(
        f"/v1/studies/{study['id']}", json={"title": "New"}, headers=who.submitter
    )
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"
    assert head_version(client) == 1


@pytest.mark.parametrize(
    "stale",
    ['"study-1-v0"', 'W/"study-{id}-v1"', "study-{id}-v1", '"study-{id}-v2"'],
)
def test_patch_with_a_tag_that_does_not_match_is_412(
    client: TestClient, who: Actors, study: dict[str, Any], stale: str
) -> None:
    tag = stale.format(id=study["id"])
    response = patch(client, who.submitter, study["id"], {"title": "New"}, if_match=tag)
    assert response.status_code == 412
    assert response.json()["etag"] == f'"study-{study["id"]}-v1"'
    assert client.get(f"/v1/studies/{study['id']}").json()["title"] == study["title"]


def test_lost_update_is_prevented(client: TestClient, who: Actors, study: dict[str, Any]) -> None:
    read_by_both = etag(client, study["id"])
    first = patch(client, who.submitter, study["id"], {"year": 2015}, if_match=read_by_both)
    second = patch(client, who.submitter, study["id"], {"year": 2017}, if_match=read_by_both)
    assert (first.status_code, second.status_code) == (200, 412)
    assert client.get(f"/v1/studies/{study['id']}").json()["year"] == 2015


def test_if_match_star_and_lists_are_understood(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    listed = f'"other", {etag(client, study["id"])}'
    assert (
        patch(client, who.submitter, study["id"], {"year": 2015}, if_match=listed).status_code
        == 200
    )
    assert (
        patch(client, who.submitter, study["id"], {"year": 2014}, if_match="*").status_code == 200
    )


def test_patch_of_results_derives_the_effects_again(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    new_results = [result("empowerment", "empowerment-scale", means(3.1, 0.3, 60, 2.7, 0.3, 60))]
    response = patch(client, who.submitter, study["id"], {"outcome_results": new_results})
    effect = response.json()["study"]["outcome_results"][0]["effect"]
    expected = smd_from_means(60, 3.1, 0.3, 60, 2.7, 0.3)
    assert effect["yi"] == pytest.approx(float(expected.yi[0]), rel=1e-12)
    assert effect["vi"] == pytest.approx(float(expected.vi[0]), rel=1e-12)
    assert len(response.json()["study"]["outcome_results"]) == 1


def test_patch_that_changes_nothing_writes_nothing(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    response = patch(client, who.submitter, study["id"], {"title": study["title"], "tags": []})
    assert response.status_code == 200
    response = patch(client, who.submitter, study["id"], {"title": study["title"]})
    assert response.json()["evidence_version"] == 2
    assert response.json()["study"]["valid_from"] == 2
    assert head_version(client) == 2


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"title": None}, {"title"}),
        ({"arms": None}, {"arms"}),
        ({"status": "included"}, {"status"}),  # status changes only through curation
        ({"total_randomized": 140}, {"total_randomized"}),
        (
            {
                "arms": [
                    {"label": "Peer", "role": "intervention", "n_randomized": 70},
                    {"label": "Control", "role": "control", "n_randomized": 68},
                ],
                "outcome_results": [
                    result(
                        "empowerment",
                        "empowerment-scale",
                        means(2.9, 0.3, 60, 2.8, 0.3, 60),
                        intervention_arm="Peer group",
                    )
                ],
            },
            {"outcome_results.0.intervention_arm"},
        ),
    ],
)
def test_invalid_patch_is_422_and_changes_nothing(
    client: TestClient, who: Actors, study: dict[str, Any], change: dict[str, Any], fields: set[str]
) -> None:
    before = etag(client, study["id"])
    assert problem_fields(patch(client, who.submitter, study["id"], change)) == fields
    assert etag(client, study["id"]) == before
    assert head_version(client) == 1


def test_patch_to_another_studys_doi_is_409(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    other = create(client, who.submitter, one_to_one_stigma_trial())["study"]
    response = patch(client, who.submitter, study["id"], {"doi": other["doi"]})
    assert response.status_code == 409
    assert response.json()["existing"] == f"/v1/studies/{other['id']}"


def test_patch_of_unknown_study_is_404(client: TestClient, who: Actors) -> None:
    response = client.patch(
        "/v1/studies/424242", json={"year": 2010}, headers={**who.submitter, "If-Match": "*"}
    )
    assert response.status_code == 404


def test_untrusted_keys_cannot_change_included_studies(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    assert action(client, who.curator, study["id"], "include").status_code == 200
    denied = patch(client, who.submitter, study["id"], {"year": 2015})
    assert denied.status_code == 403
    assert action(client, who.submitter, study["id"], "withdraw", "Wrong trial").status_code == 403
    assert patch(client, who.trusted, study["id"], {"year": 2015}).status_code == 403
    own = create(client, who.trusted, one_to_one_stigma_trial())["study"]
    allowed = patch(client, who.trusted, own["id"], {"year": 2015})
    assert allowed.status_code == 200
    assert allowed.json()["study"]["status"] == "included"


# --- curation and withdrawal -------------------------------------------------------------------


def test_include_exclude_and_include_again(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    included = action(client, who.curator, study["id"], "include")
    assert included.json()["study"]["status"] == "included"
    assert included.json()["evidence_version"] == 2
    excluded = action(client, who.curator, study["id"], "exclude", "Outcome not validated")
    assert excluded.json()["study"]["status"] == "excluded"
    assert excluded.json()["study"]["status_reason"] == "Outcome not validated"
    assert excluded.headers["etag"] == f'"study-{study["id"]}-v3"'
    again = action(client, who.curator, study["id"], "include").json()
    assert (again["study"]["status"], again["study"]["status_reason"]) == ("included", None)
    assert again["evidence_version"] == 4


def test_repeating_a_status_change_writes_nothing(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    assert action(client, who.curator, study["id"], "include").status_code == 200
    again = action(client, who.curator, study["id"], "include")
    assert again.status_code == 200
    assert again.json()["evidence_version"] == 2
    assert head_version(client) == 2


@pytest.mark.parametrize("name", ["exclude", "withdraw"])
@pytest.mark.parametrize(
    "body", [None, {}, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 2001}]
)
def test_exclude_and_withdraw_need_a_reason(
    client: TestClient, who: Actors, study: dict[str, Any], name: str, body: Any
) -> None:
    response = client.post(f"/v1/studies/{study['id']}/{name}", json=body, headers=who.curator)
    assert response.status_code == 422
    assert head_version(client) == 1


def test_curation_honours_if_match_when_sent(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    url = f"/v1/studies/{study['id']}/include"
    stale = client.post(url, headers={**who.curator, "If-Match": '"study-0-v0"'})
    assert stale.status_code == 412
    current = client.post(url, headers={**who.curator, "If-Match": etag(client, study["id"])})
    assert current.status_code == 200


def test_withdrawal_is_final_and_kept_in_history(
    client: TestClient, who: Actors, study: dict[str, Any]
) -> None:
    withdrawn = action(client, who.submitter, study["id"], "withdraw", "Retracted by the journal")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["study"]["status"] == "withdrawn"
    for name, reason in (("include", None), ("exclude", "x" * 5), ("withdraw", "Again")):
        assert action(client, who.curator, study["id"], name, reason).status_code == 409
    assert patch(client, who.curator, study["id"], {"year": 2015}).status_code == 409
    assert client.get(f"/v1/studies/{study['id']}").json()["status"] == "withdrawn"
    assert client.get(f"/v1/studies/{study['id']}?as_of=1").json()["status"] == "pending"


@pytest.mark.parametrize("name", ["include", "exclude", "withdraw"])
def test_actions_on_unknown_studies_are_404(client: TestClient, who: Actors, name: str) -> None:
    assert action(client, who.curator, 424242, name, "Some reason").status_code == 404


# --- as_of ---------------------------------------------------------------------------------------


def test_as_of_reconstructs_every_past_state_exactly(client: TestClient, who: Actors) -> None:
    created = create(client, who.submitter, peer_group_trial())["study"]  # v1
    study_id = created["id"]
    other = create(client, who.submitter, one_to_one_stigma_trial())["study"]  # v2
    new_results = [result("empowerment", "empowerment-scale", means(3.1, 0.3, 60, 2.7, 0.3, 60))]
    updated = patch(
        client, who.submitter, study_id, {"title": "Revised", "outcome_results": new_results}
    ).json()["study"]  # v3
    included = action(client, who.curator, study_id, "include").json()["study"]  # v4
    withdrawn = action(client, who.curator, study_id, "withdraw", "Retracted").json()["study"]  # v5

    def at(version: int) -> dict[str, Any]:
        response = client.get(f"/v1/studies/{study_id}", params={"as_of": version})
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    # Each past state is exactly what the write returned, except that it is now closed.
    assert at(1) == {**created, "valid_to": 3}
    assert at(2) == {**created, "valid_to": 3}
    assert at(3) == {**updated, "valid_to": 4}
    assert at(4) == {**included, "valid_to": 5}
    assert at(5) == withdrawn
    assert at(1)["outcome_results"] != at(3)["outcome_results"]
    assert listed_ids(client, as_of=1) == [study_id]
    assert listed_ids(client, as_of=4, status="included") == [study_id]
    assert listed_ids(client, as_of=5) == [other["id"]]
    assert listed_ids(client, as_of=5, outcome="self-efficacy") == []
    assert listed_ids(client, as_of=2, outcome="self-efficacy") == [study_id]
    assert client.get(f"/v1/studies/{other['id']}", params={"as_of": 1}).status_code == 404


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({"title": None}, False),  # a field every study has: omitted, never null
        ({"year": None}, False),
        ({"tags": None}, False),
        ({"doi": None}, True),  # null removes it
        ({"country": None, "setting": None}, True),
    ],
)
def test_the_spec_states_which_fields_may_be_null(
    client: TestClient, who: Actors, study: dict[str, Any], change: dict[str, Any], valid: bool
) -> None:
    """Issue 25: the spec's StudyUpdate has no null for a field every study has."""
    components = client.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/StudyUpdate", "components": components}
    assert jsonschema_rs.is_valid(schema, change) is valid
    response = patch(client, who.submitter, study["id"], change)
    if valid:
        assert response.status_code == 200, response.text
    else:
        assert problem_fields(response) == set(change)
