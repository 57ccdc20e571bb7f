"""POST /v1/studies and /v1/studies/batch: storage, derived effect sizes, status, duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.stats import ENGINE_VERSION
from service.stats.effect_sizes import smd_from_means
from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import (
    Actors,
    create,
    head_version,
    listed_ids,
    problem_fields,
)
from tests.factories import (
    cluster_peer_service_trial,
    fresh,
    means,
    one_to_one_stigma_trial,
    peer_group_trial,
    result,
)

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _g(n1: float, m1: float, s1: float, n2: float, m2: float, s2: float) -> float:
    return float(smd_from_means(n1, m1, s1, n2, m2, s2).yi[0])


def _v(n1: float, m1: float, s1: float, n2: float, m2: float, s2: float) -> float:
    return float(smd_from_means(n1, m1, s1, n2, m2, s2).vi[0])


def test_a_doi_may_be_null_and_one_that_is_not_a_string_is_refused(
    client: TestClient, who: Actors
) -> None:
    created = client.post("/v1/studies", json=peer_group_trial(doi=None), headers=who.trusted)
    assert created.status_code == 201, created.text
    assert created.json()["study"]["doi"] is None
    refused = client.post("/v1/studies", json=peer_group_trial(doi=1234), headers=who.trusted)
    assert "doi" in problem_fields(refused)


def test_create_answers_201_with_location_etag_version_and_effects(
    client: TestClient, who: Actors
) -> None:
    body = peer_group_trial()
    response = client.post("/v1/studies", json=body, headers=who.trusted)
    assert response.status_code == 201
    payload = response.json()
    study = payload["study"]
    assert payload["evidence_version"] == 1
    assert response.headers["location"] == f"/v1/studies/{study['id']}"
    assert response.headers["etag"] == f'"study-{study["id"]}-v1"'
    assert (study["created_version"], study["valid_from"], study["valid_to"]) == (1, 1, None)
    assert study["title"] == body["title"]
    assert study["arms"] == body["arms"]
    empowerment = study["outcome_results"][0]
    assert empowerment["intervention_arm"] == "Peer group"
    assert empowerment["control_arm"] == "Waiting list"
    assert empowerment["data"] == body["outcome_results"][0]["data"]
    assert empowerment["effect"] == {
        "yi": pytest.approx(_g(65, 2.89, 0.31, 60, 2.79, 0.32), rel=1e-12),
        "vi": pytest.approx(_v(65, 2.89, 0.31, 60, 2.79, 0.32), rel=1e-12),
        "sign_flipped": False,
        "conversion": "smd_from_means",
        "engine_version": ENGINE_VERSION,
        "estimated": False,
    }
    assert empowerment["data_warnings"] == []
    assert client.get(response.headers["location"]).json() == study


def test_lower_is_better_instrument_is_flipped_so_benefit_is_positive(
    client: TestClient, who: Actors
) -> None:
    study = create(client, who.trusted, one_to_one_stigma_trial())["study"]
    effect = study["outcome_results"][0]["effect"]
    raw = _g(40, 2.10, 0.45, 42, 2.35, 0.50)
    assert raw < 0
    assert effect["yi"] == pytest.approx(-raw, rel=1e-12)
    assert effect["sign_flipped"] is True


def test_cluster_design_inflates_only_the_variance(client: TestClient, who: Actors) -> None:
    study = create(client, who.trusted, cluster_peer_service_trial())["study"]
    effect = study["outcome_results"][0]["effect"]
    design_effect = 1 + (20 - 1) * 0.05  # Cochrane Handbook 23.1.4
    assert effect["yi"] == pytest.approx(_g(110, 2.95, 0.40, 112, 2.85, 0.42), rel=1e-12)
    expected_vi = design_effect * _v(110, 2.95, 0.40, 112, 2.85, 0.42)
    assert effect["vi"] == pytest.approx(expected_vi, rel=1e-12)
    assert study["outcome_results"][0]["cluster"] == {
        "icc": 0.05,
        "mean_cluster_size": 20,
        "reported_accounts_for_clustering": False,
    }


@pytest.mark.parametrize(
    ("scopes", "trusted", "status"),
    [
        (("submit",), False, "pending"),
        (("submit",), True, "included"),
        (("submit", "curate"), False, "included"),
        (("admin",), False, "included"),
    ],
)
def test_untrusted_submissions_start_pending(
    client: TestClient, who: Actors, scopes: tuple[str, ...], trusted: bool, status: str
) -> None:
    headers = who.key(*scopes, trusted=trusted)
    study = create(client, headers, peer_group_trial())["study"]
    assert (study["status"], study["status_reason"]) == (status, None)


REPORTED_FORMS: list[tuple[dict[str, Any], str]] = [
    (means(2.9, 0.3, 30, 2.7, 0.35, 30), "smd_from_means"),
    (
        {
            "form": "change_scores",
            "intervention": {"mean_change": 0.3, "sd_change": 0.4, "n": 30},
            "control": {"mean_change": 0.1, "sd_change": 0.45, "n": 30},
        },
        "smd_from_change_scores",
    ),
    ({"form": "t", "t": 2.1, "n_intervention": 30, "n_control": 30}, "smd_from_t"),
    (
        {
            "form": "f",
            "f": 4.41,
            "df": 58,
            "favours": "intervention",
            "n_intervention": 30,
            "n_control": 30,
        },
        "smd_from_f",
    ),
    (
        {"form": "p", "p": 0.04, "favours": "control", "n_intervention": 30, "n_control": 30},
        "smd_from_p",
    ),
    (
        {"form": "effect_se", "effect": 0.35, "se": 0.18, "positive_favours_intervention": True},
        "smd_from_se",
    ),
    (
        {
            "form": "effect_ci",
            "effect": 0.35,
            "ci_lower": 0.0,
            "ci_upper": 0.7,
            "ci_level": 0.95,
            "positive_favours_intervention": True,
        },
        "smd_from_ci",
    ),
]


@pytest.mark.parametrize(("data", "conversion"), REPORTED_FORMS, ids=lambda v: str(v)[:20])
def test_every_reported_form_is_stored_as_sent_beside_its_effect(
    client: TestClient, who: Actors, data: dict[str, Any], conversion: str
) -> None:
    body = peer_group_trial(outcome_results=[result("empowerment", "empowerment-scale", data)])
    stored = create(client, who.trusted, body)["study"]["outcome_results"][0]
    assert stored["data"] == data
    assert stored["effect"]["conversion"] == conversion
    assert stored["effect"]["vi"] > 0
    # p "favours control" must come out negative; everything else here favours the intervention.
    assert (stored["effect"]["yi"] < 0) == (data.get("favours") == "control")


def _online_group_trial(arms: list[dict[str, Any]]) -> dict[str, Any]:
    """A three-arm trial whose one result compares the online peer group with usual care."""
    online = result(
        "empowerment",
        "empowerment-scale",
        means(3.0, 0.4, 45, 2.8, 0.4, 46),
        intervention_arm="Peer group online",
        control_arm="Usual care",
    )
    return peer_group_trial(total_randomized=150, arms=arms, outcome_results=[online])


def test_results_may_name_arms_of_a_multi_arm_trial(client: TestClient, who: Actors) -> None:
    arms = [
        {"label": "Peer group", "role": "intervention", "n_randomized": 50},
        {"label": "Peer group online", "role": "intervention", "n_randomized": 50},
        {"label": "Usual care", "role": "control", "n_randomized": 50},
    ]
    body = _online_group_trial(arms)
    stored = create(client, who.trusted, body)["study"]["outcome_results"][0]
    assert (stored["intervention_arm"], stored["control_arm"]) == (
        "Peer group online",
        "Usual care",
    )


# --- duplicates -----------------------------------------------------------------------------


def _assert_duplicate(response: Any, existing_id: int, field: str) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    link = f"/v1/studies/{existing_id}"
    assert response.json()["existing"] == link
    assert response.json()["conflicts"][0]["field"] == field
    assert response.headers["location"] == link
    assert response.headers["link"] == f'<{link}>; rel="related"'


def test_same_doi_is_409_with_a_link_to_the_existing_study(client: TestClient, who: Actors) -> None:
    first = create(client, who.trusted, peer_group_trial())["study"]
    again = fresh(peer_group_trial())
    again["doi"] = "https://doi.org/" + first["doi"].upper()  # the same DOI, written differently
    _assert_duplicate(
        client.post("/v1/studies", json=again, headers=who.trusted), first["id"], "doi"
    )
    assert head_version(client) == 1


def test_same_registration_id_is_409(client: TestClient, who: Actors) -> None:
    first = create(client, who.trusted, peer_group_trial())["study"]
    again = fresh(peer_group_trial())
    again["registration_id"] = " " + first["registration_id"].lower()
    response = client.post("/v1/studies", json=again, headers=who.submitter)
    _assert_duplicate(response, first["id"], "registration_id")


def test_a_withdrawn_study_does_not_block_a_new_entry(client: TestClient, who: Actors) -> None:
    body = peer_group_trial()
    first = create(client, who.trusted, body)["study"]
    withdrawn = client.post(
        f"/v1/studies/{first['id']}/withdraw", json={"reason": "Entered twice"}, headers=who.trusted
    )
    assert withdrawn.status_code == 200
    assert create(client, who.trusted, body)["study"]["id"] != first["id"]


# --- batch ----------------------------------------------------------------------------------


def test_batch_stores_every_study_in_one_version(client: TestClient, who: Actors) -> None:
    bodies = [peer_group_trial(), one_to_one_stigma_trial(), cluster_peer_service_trial()]
    response = client.post("/v1/studies/batch", json={"studies": bodies}, headers=who.submitter)
    assert response.status_code == 201, response.text
    payload = response.json()
    assert payload["evidence_version"] == 1
    assert response.headers["location"] == "/v1/versions/1"
    assert [s["title"] for s in payload["studies"]] == [b["title"] for b in bodies]
    assert {s["status"] for s in payload["studies"]} == {"pending"}
    assert {s["valid_from"] for s in payload["studies"]} == {1}
    version = client.get("/v1/versions/1").json()
    assert version["kind"] == "batch"
    assert version["study_ids"] == [s["id"] for s in payload["studies"]]


def test_batch_with_one_invalid_study_stores_nothing(client: TestClient, who: Actors) -> None:
    bad = one_to_one_stigma_trial()
    bad["outcome_results"][0]["instrument"] = "empowerment-scale"  # not a stigma instrument
    bodies = [peer_group_trial(), cluster_peer_service_trial(), bad]
    response = client.post("/v1/studies/batch", json={"studies": bodies}, headers=who.trusted)
    assert problem_fields(response) == {"studies.2.outcome_results.0.instrument"}
    assert listed_ids(client) == []
    assert head_version(client) == 0


def test_batch_repeating_a_doi_within_itself_is_422(client: TestClient, who: Actors) -> None:
    first = peer_group_trial()
    second = one_to_one_stigma_trial(doi=first["doi"])
    response = client.post(
        "/v1/studies/batch", json={"studies": [first, second]}, headers=who.trusted
    )
    assert problem_fields(response) == {"studies.1.doi"}


def test_batch_with_a_stored_duplicate_is_409_naming_its_index(
    client: TestClient, who: Actors
) -> None:
    stored = create(client, who.trusted, peer_group_trial())["study"]
    clash = one_to_one_stigma_trial(registration_id=stored["registration_id"])
    response = client.post(
        "/v1/studies/batch",
        json={"studies": [cluster_peer_service_trial(), clash]},
        headers=who.trusted,
    )
    assert response.status_code == 409
    assert response.json()["conflicts"] == [
        {
            "index": 1,
            "field": "registration_id",
            "value": stored["registration_id"],
            "existing": f"/v1/studies/{stored['id']}",
        }
    ]
    assert listed_ids(client) == [stored["id"]]


def test_a_batch_of_1000_studies_is_stored_in_one_version(client: TestClient, who: Actors) -> None:
    body = {"studies": [peer_group_trial() for _ in range(1000)]}
    response = client.post("/v1/studies/batch", json=body, headers=who.trusted)
    assert response.status_code == 201, response.text[:500]
    studies = response.json()["studies"]
    assert len({s["id"] for s in studies}) == 1000
    assert {s["valid_from"] for s in studies} == {1}
    assert len(client.get("/v1/versions/1").json()["study_ids"]) == 1000
    assert head_version(client) == 1


def test_batch_takes_at_most_1000_studies(client: TestClient, who: Actors) -> None:
    body = {"studies": [peer_group_trial() for _ in range(1001)]}
    response = client.post("/v1/studies/batch", json=body, headers=who.trusted)
    assert problem_fields(response) == {"studies"}
    assert head_version(client) == 0


def test_empty_batch_is_422(client: TestClient, who: Actors) -> None:
    response = client.post("/v1/studies/batch", json={"studies": []}, headers=who.trusted)
    assert problem_fields(response) == {"studies"}


def test_a_batch_answers_each_study_as_it_is_stored_and_audited(
    client: TestClient, who: Actors
) -> None:
    # New studies are inserted in bulk and answered from the rows sent, not read back: the
    # answer must still be what GET and the audit log show. Arms named out of order, a cluster
    # design, optional fields left out and several results per study.
    arms = [
        {"label": "Usual care", "role": "control", "n_randomized": 50},
        {"label": "Peer group", "role": "intervention", "n_randomized": 50},
        {"label": "Peer group online", "role": "intervention", "n_randomized": 50},
    ]
    multi_arm = _online_group_trial(arms)
    sparse = one_to_one_stigma_trial(doi=None, registration_id=None, country=None, setting=None)
    bodies = [cluster_peer_service_trial(), multi_arm, sparse, peer_group_trial()]
    response = client.post("/v1/studies/batch", json={"studies": bodies}, headers=who.trusted)
    assert response.status_code == 201, response.text
    answered = response.json()["studies"]
    assert [s["id"] for s in answered] == sorted(s["id"] for s in answered)
    audited = client.get("/v1/audit", headers=who.admin).json()["items"]
    after = {entry["resource_id"]: entry["after"] for entry in audited}
    for study in answered:
        assert client.get(f"/v1/studies/{study['id']}").json() == study
        assert after[study["id"]] == study
