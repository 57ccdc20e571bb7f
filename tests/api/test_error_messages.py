"""Errors that say what to fix (issue 12, point 6), on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, create
from tests.factories import one_to_one_stigma_trial, peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

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


def test_malformed_json_says_where_it_breaks(client: TestClient, who: Actors) -> None:
    text = '{\n  "title": "x",\n  "year": 2016\n  "authors": "A"\n}'
    response = client.post(
        "/v1/studies", content=text,
        headers={**who.trusted, "Content-Type": "application/json"},
    )  # fmt: skip
    errors = _errors(response)
    assert list(errors) == ["body"]
    assert "line 4, column 3" in errors["body"]
    assert "Expecting ',' delimiter" in errors["body"]
    assert "Invalid value(s) for: body" in response.json()["detail"]


def test_a_misspelled_form_lists_the_forms_and_the_nearest(client: TestClient, who: Actors) -> None:
    body = peer_group_trial()
    body["outcome_results"][0]["data"]["form"] = "mean"
    errors = _errors(client.post("/v1/studies", json=body, headers=who.trusted))
    message = errors[f"{R0}.data.form"]
    assert message.startswith("'mean' is not a form; did you mean 'means'?")
    assert "'means_se'" in message
    assert "'dichotomous'" in message
    assert "Input tag" not in message  # not pydantic's raw text


def test_an_unknown_enum_value_lists_the_allowed_and_the_nearest(
    client: TestClient, who: Actors
) -> None:
    body = peer_group_trial()
    body["arms"][0]["role"] = "interventon"
    errors = _errors(client.post("/v1/studies", json=body, headers=who.trusted))
    assert errors["arms.0.role"] == (
        "'interventon' is not one of the allowed values; did you mean 'intervention'? "
        "Allowed: 'intervention', 'control'."
    )


def test_the_services_own_advice_is_never_cut(client: TestClient, who: Actors) -> None:
    body = one_to_one_stigma_trial()
    body["outcome_results"][0]["data"] = {  # an SD of 1.0 x sqrt(40): beyond the 1-4 ISMI's
        "form": "means_se",
        "intervention": {"mean": 2.1, "se": 1.0, "n": 40},
        "control": {"mean": 2.35, "se": 0.08, "n": 42},
    }
    errors = _errors(client.post("/v1/studies", json=body, headers=who.trusted))
    [message] = [m for f, m in errors.items() if f.endswith("intervention.se")]
    assert len(message) > 300  # what the echo cap used to cut, the fix included
    assert "shortened" not in message
    assert message.endswith("or the wrong instrument")


def test_an_unknown_query_value_names_the_nearest(client: TestClient) -> None:
    response = client.get("/v1/outcomes/empowerment/pooled", params={"estimator": "REMLL"})
    errors = _errors(response)
    [message] = errors.values()
    assert "did you mean 'REML'?" in message
    assert "'DL'" in message
