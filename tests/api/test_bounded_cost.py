"""README "Bounded cost, route by route": each anonymous route at its limit and just past it
(both databases). The priced routes' own tests are named in the README's table."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.schemas.pagination import MAX_LIMIT
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


@pytest.mark.parametrize("path", ["/v1/studies", "/v1/versions", "/v1/events"])
def test_pages_hold_at_most_max_limit_items(client: TestClient, path: str) -> None:
    assert client.get(path, params={"limit": MAX_LIMIT}).status_code == 200
    past = client.get(path, params={"limit": MAX_LIMIT + 1})
    assert past.status_code == 422
    assert past.headers["content-type"] == "application/problem+json"


def test_the_event_long_poll_is_capped(client: TestClient) -> None:
    # wait=30 is allowed and held to EVENTS_MAX_WAIT_SECONDS (0.5 s in the tests).
    assert client.get("/v1/events", params={"wait": 30}).status_code == 200
    assert client.get("/v1/events", params={"wait": 30.5}).status_code == 422


def _boundaries(looks: int) -> Any:
    fractions = [(i + 1) / looks for i in range(looks)]
    return {"information_fractions": fractions, "alpha": 0.05}


def test_sequential_boundaries_take_at_most_20_looks(client: TestClient) -> None:
    assert client.post("/v1/sequential/boundaries", json=_boundaries(20)).status_code == 200
    assert client.post("/v1/sequential/boundaries", json=_boundaries(21)).status_code == 422


@pytest.mark.parametrize(
    "path", ["forest.svg", "forest.png", "funnel.svg", "history.svg", "pooled/script.R"]
)
def test_plots_and_scripts_are_priced(client: TestClient, actors: Actors, path: str) -> None:
    add_batch(client, actors.trusted, [trial(s, n=40) for s in (0.5, 0.3, 0.4, 0.1, 0.2)])
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"max_analysis_cost_anonymous": 1}
    )
    refused = client.get(f"/v1/outcomes/empowerment/{path}")
    assert refused.status_code == 422, refused.text
    assert refused.json()["limit_setting"] == "MAX_ANALYSIS_COST_ANONYMOUS"
