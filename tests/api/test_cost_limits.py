"""Every analysis has a cost known before any work, a ceiling and a deadline (issue 13, item 1).

The cost is k x sections in study-fits (``service.usecases.analyses.cost``); anonymous requests
get a lower ceiling than requests with a key; over it, a 422 names the limit and says how to stay
under it, before anything is computed. What fits still stops at its deadline (503).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.stats import sensitivity
from service.stats.errors import DeadlineExceededError
from service.usecases.analyses.cost import analysis_cost
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

ALL_SECTIONS = [
    "egger", "begg", "trim_and_fill", "failsafe", "leave_one_out", "influence", "cumulative",
    "subgroups", "meta_regression",
]  # fmt: skip


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


@pytest.fixture
def limits(app: FastAPI) -> Iterator[Any]:
    """``limits(**settings)``: change the app's cost settings for the test."""
    original = app.state.settings

    def change(**update: Any) -> None:
        app.state.settings = original.model_copy(update=update)

    yield change
    app.state.settings = original


def _effects(k: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(k)
    return [
        {"label": f"S{i}", "yi": round(float(y), 4), "vi": round(float(v), 4)}
        for i, (y, v) in enumerate(
            zip(rng.normal(0.3, 0.2, k), rng.uniform(0.01, 0.1, k), strict=True)
        )
    ]


def _refused_for_cost(response: Any, limit: int, setting: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"].endswith("/cost-limit-exceeded")
    assert (problem["limit"], problem["limit_setting"]) == (limit, setting)
    assert problem["cost"] > limit
    assert "To stay under it" in problem["detail"]
    return problem


def test_the_k_100000_request_with_every_section_is_refused_before_any_work(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fit(*_: Any, **__: Any) -> None:
        raise AssertionError("the engine must not run for a refused request")

    monkeypatch.setattr("service.usecases.analyses.service.fit_random_effects", no_fit)
    body = {"effects": _effects(100_000), "sections": ALL_SECTIONS}
    problem = _refused_for_cost(
        client.post("/v1/analyses", json=body), 1_000_000, "MAX_ANALYSIS_COST_ANONYMOUS"
    )
    assert problem["cost"] == analysis_cost(100_000, ALL_SECTIONS)
    assert "leave out cumulative, influence, leave_one_out" in problem["detail"]
    assert "send an API key (limit 5,000,000)" in problem["detail"]


def test_keys_get_a_higher_ceiling(client: TestClient, who: Actors, limits: Any) -> None:
    limits(max_analysis_cost_anonymous=1_000, max_analysis_cost_with_key=10_000)
    body = {"effects": _effects(40), "sections": ["leave_one_out"]}  # cost 40 + 40^2 = 1,640
    _refused_for_cost(client.post("/v1/analyses", json=body), 1_000, "MAX_ANALYSIS_COST_ANONYMOUS")
    answered = client.post("/v1/analyses", json=body, headers=who.key("read"))
    assert answered.status_code == 200, answered.text
    assert len(answered.json()["leave_one_out"]) == 40
    body["sections"] = ["leave_one_out", "influence", "cumulative"]  # 40 + 3 x 1,600 = 4,840
    assert client.post("/v1/analyses", json=body, headers=who.key("read")).status_code == 200
    body["effects"] = _effects(60)  # 60 + 3 x 3,600 = 10,860
    _refused_for_cost(
        client.post("/v1/analyses", json=body, headers=who.key("read")),
        10_000,
        "MAX_ANALYSIS_COST_WITH_KEY",
    )


def test_a_computation_past_its_deadline_stops_with_503(client: TestClient, limits: Any) -> None:
    limits(analysis_deadline_seconds=1e-9)
    body = {"effects": _effects(30), "sections": ["influence"]}
    response = client.post("/v1/analyses", json=body)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "10"
    assert response.json()["type"].endswith("/computation-deadline")


@pytest.mark.parametrize("analysis", ["leave_one_out", "influence", "cumulative"])
def test_the_engine_checks_the_deadline_inside_its_loops(analysis: str) -> None:
    yi, vi = np.linspace(0.1, 0.5, 8), np.full(8, 0.05)
    with pytest.raises(DeadlineExceededError):
        getattr(sensitivity, analysis)(yi, vi, deadline=time.monotonic() - 1)
    assert len(getattr(sensitivity, analysis)(yi, vi, deadline=time.monotonic() + 60)) == 8


def test_pooled_results_are_priced_once_k_is_known(
    client: TestClient, who: Actors, limits: Any
) -> None:
    add_batch(client, who.trusted, [trial(0.1 * i, year=2000 + i) for i in range(6)])
    cost = analysis_cost(6, ["leave_one_out", "subgroups"])
    limits(max_analysis_cost_anonymous=cost - 1, max_analysis_cost_with_key=cost)
    path = "/v1/outcomes/empowerment/pooled"
    params = {"sections": "leave_one_out", "level": "0.9124"}
    _refused_for_cost(client.get(path, params=params), cost - 1, "MAX_ANALYSIS_COST_ANONYMOUS")
    for exported in (  # its CSV, R-script and plot forms are priced too
        client.get(path, params=params, headers={"Accept": "text/csv"}),
        client.get(f"{path}/script.R", params=params),
        client.get("/v1/outcomes/empowerment/forest.svg", params=params),
        client.get("/v1/outcomes/empowerment/funnel.svg", params=params),
    ):
        _refused_for_cost(exported, cost - 1, "MAX_ANALYSIS_COST_ANONYMOUS")
    answered = client.get(path, params=params, headers=who.key("read"))
    assert answered.status_code == 200, answered.text
    assert len(answered.json()["result"]["leave_one_out"]) == 6
    assert client.get(path).status_code == 200  # without the section it is cheap


def test_histories_are_priced_by_points_and_rows(
    client: TestClient, who: Actors, limits: Any
) -> None:
    for first in (0, 3):  # two versions, each adding three included studies: 2 points x 6 rows
        add_batch(
            client, who.trusted, [trial(0.1 * i, year=2000 + i) for i in range(first, first + 3)]
        )
    limits(max_analysis_cost_anonymous=11, max_analysis_cost_with_key=12)
    path = "/v1/outcomes/empowerment/history"
    problem = _refused_for_cost(client.get(path), 11, "MAX_ANALYSIS_COST_ANONYMOUS")
    assert problem["cost"] == 12
    plot = client.get("/v1/outcomes/empowerment/history.svg")  # the plot of it too
    _refused_for_cost(plot, 11, "MAX_ANALYSIS_COST_ANONYMOUS")
    assert "as_of" in problem["detail"]
    answered = client.get(path, headers=who.key("read"))
    assert answered.status_code == 200, answered.text
    assert len(answered.json()["points"]) == 2


def test_the_price_depends_on_the_estimator() -> None:
    k = 1_000
    assert analysis_cost(k, ["leave_one_out"], "REML") == k + k * k
    assert analysis_cost(k, ["leave_one_out"]) == k + k * k  # unknown: priced as iterative
    assert analysis_cost(k, ["leave_one_out", "influence"], "DL") == k * (1 + 2 * 20)
    assert analysis_cost(10, ["influence"], "DL") == 10 + 10 * 10  # k^2 when that is less
    assert analysis_cost(k, ["leave_one_out"], "FE") == k * 21  # an alias of EE
    assert analysis_cost(k, ["cumulative"], "DL") == k + 20 * k  # blocks: max(20 k, k^2 / 100)
    assert analysis_cost(20_000, ["cumulative"], "DL") == 20_000 + 20_000**2 // 100
    assert analysis_cost(k, ["cumulative"], "PM") == k + k * k  # refitted per look
    assert analysis_cost(k, ["leave_one_out"], "no-such-estimator") == k + k * k


def test_a_dl_leave_one_out_at_k_20000_fits_the_anonymous_budget(client: TestClient) -> None:
    """Downdated deletions cost 20 k: at k = 20,000 the anonymous ceiling holds two of them."""
    body: dict[str, Any] = {
        "effects": _effects(20_000),
        "estimator": "DL",
        "sections": ["leave_one_out", "influence"],
    }
    answered = client.post("/v1/analyses", json=body)
    assert answered.status_code == 200, answered.text
    result = answered.json()
    assert len(result["leave_one_out"]) == len(result["influence"]) == 20_000
    body["estimator"] = "REML"  # refitted once per study: 20,000 + 2 x 20,000^2
    problem = _refused_for_cost(
        client.post("/v1/analyses", json=body), 1_000_000, "MAX_ANALYSIS_COST_ANONYMOUS"
    )
    assert problem["cost"] == 20_000 + 2 * 20_000**2
    assert "non-iterative estimator (DL" in problem["detail"]


def test_pooled_results_are_priced_with_their_estimator(
    client: TestClient, who: Actors, limits: Any
) -> None:
    add_batch(client, who.trusted, [trial(0.01 * i, year=1990 + i) for i in range(30)])
    names = ["leave_one_out", "subgroups", "egger", "begg"]  # k >= 10 adds the small-study tests
    cost = analysis_cost(30, names, "DL")
    assert cost == 30 * (1 + 2 + 2 + 1 + 20) < analysis_cost(30, names, "REML")
    limits(max_analysis_cost_anonymous=cost - 1, max_analysis_cost_with_key=cost)
    path = "/v1/outcomes/empowerment/pooled"
    params = {"sections": "leave_one_out", "estimator": "DL"}
    refused = client.get(path, params=params)
    assert _refused_for_cost(refused, cost - 1, "MAX_ANALYSIS_COST_ANONYMOUS")["cost"] == cost
    answered = client.get(path, params=params, headers=who.key("read"))
    assert answered.status_code == 200, answered.text
    assert len(answered.json()["result"]["leave_one_out"]) == 30
