"""Plausibility against each instrument's scale, and the new reported forms, over HTTP.

The cases of issue 12: an SE typed into the SD field of the ISMI (1-4) is stored with a data
warning, waits for a curator even from a trusted key and shows its warning in the pooled answer;
a mean of 7.5 on the 1-4 Empowerment Scale and an SD of 1e-320 are refused naming the mistake.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, changes_of, create
from tests.factories import Body, means, one_to_one_stigma_trial, peer_group_trial, result

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

R0 = "outcome_results.0"


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _empowerment(data: dict[str, Any], **overrides: Any) -> Body:
    body = peer_group_trial(**overrides)
    body["outcome_results"] = [result("empowerment", "empowerment-scale", data)]
    return body


def _errors(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_an_se_typed_as_an_sd_is_stored_with_a_warning_and_waits_for_a_curator(
    client: TestClient, who: Actors
) -> None:
    body = one_to_one_stigma_trial()
    body["outcome_results"][0]["data"] = means(2.10, 0.07, 40, 2.35, 0.50, 42)
    written = create(client, who.trusted, body)
    study = written["study"]
    assert study["status"] == "pending"  # a trusted key, yet not included
    warnings = study["outcome_results"][0]["data_warnings"]
    fields = {w["field"] for w in warnings}
    assert f"{R0}.data.means.intervention.sd" in fields
    assert any("standard error" in w["message"] and "means_se" in w["message"] for w in warnings)
    # Nothing entered the evidence.
    assert all(change["after"]["k"] == 0 for change in changes_of(client, written))
    assert client.get(f"/v1/studies/{study['id']}").json() == study

    [se_warning] = [w for w in warnings if w["code"] == "sd-looks-like-se"]
    assert se_warning["level"] == "error"
    assert se_warning["value"] == "0.07"
    assert "as an SE, the SD is 0.443" in se_warning["plausible"]

    # An error-level warning stands: including needs a reason, which the audit trail keeps.
    refused = client.post(f"/v1/studies/{study['id']}/include", headers=who.curator)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "reason"
    assert [w["code"] for w in refused.json()["data_warnings"]] == ["sd-looks-like-se"]
    reason = {"reason": "Checked against Table 2 of the paper: it is an SD."}
    included = client.post(f"/v1/studies/{study['id']}/include", headers=who.curator, json=reason)
    assert included.status_code == 200, included.text
    assert included.json()["study"]["status_reason"] == reason["reason"]
    audit = client.get("/v1/audit", params={"study_id": study["id"]}, headers=who.admin).json()
    assert audit["items"][0]["after"]["status_reason"] == reason["reason"]
    answer = client.get("/v1/outcomes/internalized-stigma/pooled").json()
    [used] = answer["studies"]
    assert used["study_id"] == study["id"]
    assert used["data_warnings"] == warnings


def test_a_plausible_study_from_a_trusted_key_is_included_without_warnings(
    client: TestClient, who: Actors
) -> None:
    study = create(client, who.trusted, one_to_one_stigma_trial())["study"]
    assert study["status"] == "included"
    assert study["outcome_results"][0]["data_warnings"] == []


def test_a_change_that_brings_a_warning_takes_an_included_study_back_to_pending(
    client: TestClient, who: Actors
) -> None:
    study = create(client, who.trusted, one_to_one_stigma_trial())["study"]
    results = [dict(study["outcome_results"][0])]
    results[0]["data"] = means(2.10, 0.07, 40, 2.35, 0.50, 42)
    for name in ("effect", "data_warnings"):
        results[0].pop(name)
    response = client.patch(
        f"/v1/studies/{study['id']}",
        json={"outcome_results": results},
        headers={**who.trusted, "If-Match": f'"study-{study["id"]}-v{study["valid_from"]}"'},
    )
    assert response.status_code == 200, response.text
    updated = response.json()["study"]
    assert updated["status"] == "pending"
    assert updated["outcome_results"][0]["data_warnings"]


def test_one_sd_many_times_smaller_than_the_other_is_a_warning(
    client: TestClient, who: Actors
) -> None:
    body = _empowerment(means(2.9, 0.5, 65, 2.8, 0.11, 60))  # 0.11 is 3.7% of the span 3
    study = create(client, who.trusted, body)["study"]
    messages = [w["message"] for w in study["outcome_results"][0]["data_warnings"]]
    assert any("times smaller" in m for m in messages)
    assert study["status"] == "pending"


def test_a_mean_outside_the_scale_is_refused_naming_the_range(
    client: TestClient, who: Actors
) -> None:
    response = client.post(
        "/v1/studies", json=_empowerment(means(7.5, 0.5, 65, 2.8, 0.5, 60)), headers=who.trusted
    )
    message = _errors(response)[f"{R0}.data.means.intervention.mean"]
    assert "from 1 to 4" in message
    assert "total score" in message


def test_an_sd_beyond_the_bhatia_davis_bound_is_refused(client: TestClient, who: Actors) -> None:
    # Mean 3.8 on 1-4: the SD can be at most sqrt(0.2 * 2.8 * 65 / 64) = 0.754.
    response = client.post(
        "/v1/studies", json=_empowerment(means(3.8, 1.2, 65, 2.8, 0.5, 60)), headers=who.trusted
    )
    message = _errors(response)[f"{R0}.data.means.intervention.sd"]
    assert "Bhatia-Davis" in message
    assert "0.754" in message


def test_an_sd_of_1e_320_is_refused_as_a_typo(client: TestClient, who: Actors) -> None:
    response = client.post(
        "/v1/studies", json=_empowerment(means(2.9, 1e-320, 65, 2.8, 0.5, 60)), headers=who.trusted
    )
    message = _errors(response)[f"{R0}.data.means.intervention.sd"]
    assert "effectively zero" in message
    assert "typo" in message


def test_a_change_larger_than_the_span_is_refused(client: TestClient, who: Actors) -> None:
    data = {
        "form": "change_scores",
        "intervention": {"mean_change": 3.5, "sd_change": 0.6, "n": 65},
        "control": {"mean_change": 0.1, "sd_change": 0.6, "n": 60},
    }
    response = client.post("/v1/studies", json=_empowerment(data), headers=who.trusted)
    message = _errors(response)[f"{R0}.data.change_scores.intervention.mean_change"]
    assert "span 3" in message


NEW_FORMS: dict[str, dict[str, Any]] = {
    "means_se": {
        "intervention": {"mean": 2.9, "se": 0.05, "n": 65},
        "control": {"mean": 2.8, "se": 0.06, "n": 60},
    },
    "mean_difference": {"mean_difference": 0.12, "ci_lower": 0.01, "ci_upper": 0.23, **{
        "n_intervention": 65, "n_control": 60}},
    "ancova": {"adjusted_mean_difference": 0.1, "se": 0.05, "n_intervention": 65, "n_control": 60},
    "medians": {
        "intervention": {"median": 2.9, "q1": 2.5, "q3": 3.2, "n": 65},
        "control": {"median": 2.8, "minimum": 1.4, "maximum": 3.9, "n": 60},
    },
    "p_bound": {"p_below": 0.05, "favours": "intervention", "n_intervention": 65, "n_control": 60},
    "dichotomous": {
        "intervention": {"events": 30, "total": 65},
        "control": {"events": 20, "total": 60},
    },
}  # fmt: skip
ESTIMATED = {"medians", "p_bound", "dichotomous", "ancova"}


@pytest.mark.parametrize("form", sorted(NEW_FORMS))
def test_every_new_form_is_stored_and_read_back(client: TestClient, who: Actors, form: str) -> None:
    data = {"form": form, **NEW_FORMS[form]}
    study = create(client, who.trusted, _empowerment(data))["study"]
    stored = study["outcome_results"][0]
    assert stored["data"]["form"] == form
    assert stored["effect"]["estimated"] is (form in ESTIMATED)
    assert 0 < stored["effect"]["yi"] < 1
    assert client.get(f"/v1/studies/{study['id']}").json() == study


def test_a_cluster_design_on_an_effect_with_ci_is_accepted_and_inflated(
    client: TestClient, who: Actors
) -> None:
    data = {
        "form": "effect_ci",
        "effect": 0.3,
        "ci_lower": 0.1,
        "ci_upper": 0.5,
        "positive_favours_intervention": True,
    }
    body = _empowerment(data, design="cluster-randomized")
    body["outcome_results"][0]["cluster"] = {"icc": 0.05, "mean_cluster_size": 11}
    effect = create(client, who.trusted, body)["study"]["outcome_results"][0]["effect"]
    se = 0.4 / (2 * 1.959963984540054)
    assert effect["yi"] == 0.3
    assert effect["vi"] == pytest.approx(1.5 * se**2, rel=1e-9)
