"""POST /v1/sequential/boundaries and GET /v1/outcomes/{outcome}/monitoring (both databases)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def test_boundaries_of_four_equal_looks(client: TestClient) -> None:
    design = {"information_fractions": [0.25, 0.5, 0.75, 1.0], "alpha": 0.05, "sides": 2}
    response = client.post("/v1/sequential/boundaries", json={**design, "spending": "obf"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert np.allclose(body["boundaries"], [4.33263, 2.96333, 2.35902, 2.01409], atol=5e-4)
    assert body["lower_boundaries"] == [-z for z in body["boundaries"]]
    assert sum(body["crossing_probability"]) == pytest.approx(0.025, abs=1e-6)
    pocock = client.post("/v1/sequential/boundaries", json={**design, "spending": "pocock"})
    assert np.allclose(pocock.json()["boundaries"], [2.3683, 2.3675, 2.3582, 2.3500], atol=5e-4)


@pytest.mark.parametrize(
    "body",
    [
        {"information_fractions": [0.5, 0.4]},
        {"information_fractions": [0.0, 1.0]},
        {"information_fractions": []},
        {"information_fractions": [1.0], "spending": "haybittle"},
        {"information_fractions": [1.0], "alpha": 0.7},
    ],
)
def test_boundaries_refuse_designs_that_do_not_exist(client: TestClient, body: dict) -> None:
    response = client.post("/v1/sequential/boundaries", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


def test_monitoring_of_a_growing_outcome(client: TestClient, actors: Actors) -> None:
    versions = [
        add_batch(client, actors.trusted, [trial(s, n=n) for s in shifts])["evidence_version"]
        for n, shifts in [(40, [0.5, 0.3]), (60, [0.4, 0.1]), (80, [0.45, 0.35])]
    ]
    # A trial of 2 x 2 participants adds under 1% of the RIS: not a look.
    tiny = add_batch(client, actors.trusted, [trial(0.2, n=2)])["evidence_version"]
    response = client.get("/v1/outcomes/empowerment/monitoring", params={"power": 0.9})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "decision aid" in body["decision_aid"].lower()
    assert body["skipped_versions"] == []  # the newest analysis is always a look
    assert [look["evidence_version"] for look in body["looks"]] == [*versions, tiny]

    # RIS by hand: 4 (z_0.975 + z_0.9)^2 / 0.2^2 / (1 - D2), D2 from the DL tau2.
    pooled = client.get("/v1/outcomes/empowerment/pooled").json()
    yi = np.array([s["yi"] for s in pooled["studies"]])
    vi = np.array([s["vi"] for s in pooled["studies"]])
    w = 1 / vi
    fixed = np.sum(w * yi) / np.sum(w)
    tau2 = max(
        0.0,
        (np.sum(w * (yi - fixed) ** 2) - (len(yi) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)),
    )
    d2 = 1 - (1 / np.sum(w)) / (1 / np.sum(1 / (vi + tau2)))
    base = 4 * (stats.norm.isf(0.025) + stats.norm.ppf(0.9)) ** 2 / 0.04
    assert body["diversity"]["d2"] == pytest.approx(d2, rel=1e-9)
    assert body["ris_unadjusted"] == pytest.approx(base, rel=1e-12)
    assert body["ris"] == pytest.approx(base / (1 - d2), rel=1e-9)

    participants = [look["participants"] for look in body["looks"]]
    assert participants == [160, 400, 720, 724]
    fractions = [n / body["ris"] for n in participants]
    assert [look["information_fraction"] for look in body["looks"]] == pytest.approx(fractions)
    design = client.post("/v1/sequential/boundaries", json={"information_fractions": fractions})
    assert [look["boundary"] for look in body["looks"]] == pytest.approx(
        design.json()["boundaries"]
    )

    # Z and the TSA-adjusted interval of the DL random-effects estimate at the last look.
    estimate = np.sum(yi / (vi + tau2)) / np.sum(1 / (vi + tau2))
    se = math.sqrt(1 / np.sum(1 / (vi + tau2)))
    last = body["looks"][-1]
    assert last["z"] == pytest.approx(estimate / se, rel=1e-9)
    assert body["tsa_ci_lower"] == pytest.approx(estimate - last["boundary"] * se, rel=1e-9)
    assert body["tsa_ci_upper"] - body["tsa_ci_lower"] > body["ci_upper"] - body["ci_lower"]
    assert body["status"] == ("boundary_crossed" if last["crossed"] else "continue")


def test_looks_adding_under_one_percent_are_skipped(client: TestClient, actors: Actors) -> None:
    first = add_batch(client, actors.trusted, [trial(0.4, n=100), trial(0.3, n=100)])
    tiny = add_batch(client, actors.trusted, [trial(0.3, n=2)])  # 4 of ~1,050: 0.4%
    last = add_batch(client, actors.trusted, [trial(0.35, n=100)])
    body = client.get("/v1/outcomes/empowerment/monitoring").json()
    assert body["skipped_versions"] == [tiny["evidence_version"]]
    looks = [look["evidence_version"] for look in body["looks"]]
    assert looks == [first["evidence_version"], last["evidence_version"]]


def test_monitoring_reaches_the_ris(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.02 * i, n=300) for i in range(4)])
    body = client.get("/v1/outcomes/empowerment/monitoring", params={"mid": 0.5}).json()
    assert body["mid"] == 0.5
    assert body["information_fraction"] >= 1
    assert body["status"] == "ris_reached"


def test_monitoring_without_evidence(client: TestClient) -> None:
    body = client.get("/v1/outcomes/self-efficacy/monitoring").json()
    assert (body["status"], body["looks"], body["diversity"]) == ("no_evidence", [], None)
    assert client.get("/v1/outcomes/nothing/monitoring").status_code == 404
