"""The review's vocabulary, seeded by the first migration."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


def _slugs(client: TestClient, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    return [item["slug"] for item in response.json()["items"]]


def test_the_three_outcomes_in_order(client: TestClient) -> None:
    assert _slugs(client, "/v1/outcomes") == ["empowerment", "self-efficacy", "internalized-stigma"]


def test_the_three_intervention_categories(client: TestClient) -> None:
    assert _slugs(client, "/v1/categories") == ["peer-group", "one-to-one", "peer-run-service"]


def test_comparators_designs_and_ratings(client: TestClient) -> None:
    assert _slugs(client, "/v1/comparators") == [
        "treatment-as-usual",
        "waiting-list",
        "active-control",
        "other",
    ]
    designs = client.get("/v1/designs").json()["items"]
    randomized = {d["slug"] for d in designs if d["randomized"]}
    assert randomized == {"randomized", "cluster-randomized"}
    assert _slugs(client, "/v1/quality-ratings") == ["strong", "moderate", "weak"]


def test_stigma_instruments_are_lower_is_better(client: TestClient) -> None:
    items = client.get("/v1/instruments", params={"outcome": "internalized-stigma"}).json()["items"]
    slugs = {item["slug"] for item in items}
    assert {"ismi", "self-stigma-of-mental-illness-scale"} <= slugs
    assert all(item["higher_is_better"] is False for item in items)
    assert all(item["outcome"] == "internalized-stigma" for item in items)


def test_every_required_instrument_is_seeded_with_its_outcome(client: TestClient) -> None:
    items = {i["slug"]: i for i in client.get("/v1/instruments").json()["items"]}
    expected = {
        "empowerment-scale": "empowerment",
        "boston-empowerment-scale": "empowerment",
        "dutch-empowerment-scale": "empowerment",
        "mental-health-confidence-scale": "self-efficacy",
        "general-self-efficacy-scale": "self-efficacy",
        "ismi": "internalized-stigma",
        "self-stigma-of-mental-illness-scale": "internalized-stigma",
    }
    assert {slug: items[slug]["outcome"] for slug in expected} == expected
    assert items["empowerment-scale"]["higher_is_better"] is True
    assert items["ismi"]["scale_min"] == 1.0
    assert items["ismi"]["scale_max"] == 4.0
    # Plausibility checks rest on the ranges: each seeded one says where it comes from.
    for slug, item in items.items():
        assert item["scale_min"] < item["scale_max"], slug
        assert "items scored" in item["scale_source"], slug


def test_unknown_outcome_filter_gives_an_empty_list(client: TestClient) -> None:
    assert _slugs(client, "/v1/instruments?outcome=nothing") == []
