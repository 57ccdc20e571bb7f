"""Errors that say what to fix (issue 12, point 6), on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, create
from tests.factories import one_to_one_stigma_trial, peer_group_trial

pytestmark = pytest.mark.db

R0 = "outcome_results.0"


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _errors(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_unknown_slugs_list_the_valid_ones_and_suggest_the_nearest(
    client: TestClient, who: Actors
) -> None:
    body = peer_group_trial(category="Peer group")
    body["outcome_results"][0].update(outcome="Internalized stigma", instrument="es")
    errors = _errors(client.post("/v1/studies", json=body, headers=who.trusted))
    assert "did you mean 'peer-group'?" in errors["category"]
    assert "one-to-one" in errors["category"]  # the valid slugs are listed
    assert "did you mean 'internalized-stigma'?" in errors[f"{R0}.outcome"]
    assert "did you mean 'empowerment-scale'?" in errors[f"{R0}.instrument"]


def test_a_missing_control_arm_says_control(client: TestClient, who: Actors) -> None:
    body = peer_group_trial()
    body["arms"][1]["role"] = "intervention"
    errors = _errors(client.post("/v1/studies", json=body, headers=who.trusted))
    assert "control" in errors["arms"]


@pytest.mark.parametrize("p", [0, "<0.001", "< 0.05"])
def test_p_zero_or_a_bound_points_to_the_bound_form(
    client: TestClient, who: Actors, p: object
) -> None:
    body = one_to_one_stigma_trial()
    body["outcome_results"][0]["data"] = {
        "form": "p",
        "p": p,
        "favours": "intervention",
        "n_intervention": 40,
        "n_control": 42,
    }
    errors = _errors(client.post("/v1/studies", json=body, headers=who.trusted))
    assert "p_bound" in errors[f"{R0}.data.p.p"]


def test_a_body_without_a_json_content_type_says_so(client: TestClient, who: Actors) -> None:
    response = client.post(
        "/v1/studies",
        content=json.dumps(peer_group_trial()),
        headers={**who.trusted, "Content-Type": "text/plain"},
    )
    assert response.status_code == 422
    assert "Content-Type: application/json" in response.json()["detail"]


def test_an_unquoted_if_match_says_the_etag_must_be_quoted(client: TestClient, who: Actors) -> None:
    study = create(client, who.curator, peer_group_trial())["study"]
    etag = f'"study-{study["id"]}-v{study["valid_from"]}"'
    response = client.patch(
        f"/v1/studies/{study['id']}",
        json={"title": "Another title"},
        headers={**who.curator, "If-Match": etag.strip('"')},
    )
    assert response.status_code == 412
    assert "double quotes" in response.json()["detail"]
    assert etag in response.json()["detail"]


def test_a_422_lists_at_most_50_errors_and_counts_the_rest(client: TestClient, who: Actors) -> None:
    bad = [{"title": ""} for _ in range(120)]
    response = client.post("/v1/studies/batch", json={"studies": bad}, headers=who.trusted)
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == 50
    assert problem["errors_omitted"] > 1000  # every study misses a dozen fields
    assert f"and {problem['errors_omitted']} more error(s) not listed" in problem["detail"]
    assert len(response.content) < 50_000
