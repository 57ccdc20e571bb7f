"""GET /v1/outcomes/{outcome}/monitoring?futility=true: the non-binding futility wedge, on both
databases (its numerics are tested in tests/stats/test_futility.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.stats.futility import futility_boundaries
from service.stats.sequential import group_sequential_boundaries
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.usefixtures("backend")]
URL = "/v1/outcomes/empowerment/monitoring"


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def monitoring(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def without_futility(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without what futility adds (its status aside)."""
    looks = [{k: v for k, v in look.items() if k != "futility_boundary"} for look in body["looks"]]
    rest = {k: v for k, v in body.items() if k not in ("status", "futility", "futility_drift")}
    return {**rest, "looks": looks}


def test_no_effect_halfway_to_the_ris_is_futility(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.01 * (-1) ** i, n=60) for i in range(4)])
    add_batch(client, actors.trusted, [trial(0.02 * (-1) ** i, n=60) for i in range(2)])
    plain = monitoring(client)
    wedge = monitoring(client, futility="true")
    assert (plain["status"], wedge["status"]) == ("continue", "futility")
    assert (plain["futility"], plain["futility_drift"]) == (False, None)
    assert [look["futility_boundary"] for look in plain["looks"]] == [None, None]
    # Non-binding: the efficacy boundaries and everything else are those without futility.
    assert without_futility(wedge) == without_futility(plain)
    fractions = [look["information_fraction"] for look in wedge["looks"]]
    efficacy = group_sequential_boundaries(fractions).boundaries
    expected = futility_boundaries(fractions, efficacy, alpha=0.05, beta=0.1)
    assert [look["futility_boundary"] for look in wedge["looks"]] == pytest.approx(
        expected.boundaries
    )
    assert wedge["futility_drift"] == pytest.approx(expected.drift)
    last = wedge["looks"][-1]
    assert abs(last["z"]) < last["futility_boundary"] < last["boundary"]


def test_an_efficacy_crossing_is_not_futility(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.5, n=100) for _ in range(4)])
    assert monitoring(client, futility="true")["status"] == "boundary_crossed"


def test_an_effect_outside_the_wedge_continues(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.15 + 0.01 * i, n=60) for i in range(4)])
    body = monitoring(client, futility="true")
    last = body["looks"][-1]
    assert last["futility_boundary"] < abs(last["z"]) < last["boundary"]
    assert body["status"] == "continue"


def test_power_sets_the_beta_spent(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.01 * (-1) ** i, n=60) for i in range(4)])
    strict = monitoring(client, futility="true", power=0.8)["looks"][-1]
    lenient = monitoring(client, futility="true", power=0.95)["looks"][-1]
    assert strict["futility_boundary"] > lenient["futility_boundary"] > 0


def test_futility_must_be_a_boolean(client: TestClient) -> None:
    response = client.get(URL, params={"futility": "maybe"})
    assert response.status_code == 422
    assert "futility" in response.text
