"""GET /v1/outcomes/{outcome}/monitoring is priced in the request's budget, answered from a
cache under a normalised key, and its parameters are range-checked (both databases).

Before: it was anonymous, unpriced and recomputed every version on every request (0.40 s of
CPU at 196 versions, 2.26 s at 596), and varying ``mid=`` made every request a new one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.metrics import CACHE_LOOKUPS
from service.usecases.judgement.monitoring import monitoring_cost
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]
URL = "/v1/outcomes/empowerment/monitoring"


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _three_versions(client: TestClient, actors: Actors) -> int:
    """Three versions of two trials each: 3 looks over 6 empowerment results; the cost."""
    for shifts in ([0.5, 0.3], [0.4, 0.1], [0.45, 0.35]):
        add_batch(client, actors.trusted, [trial(s, n=50) for s in shifts])
    return monitoring_cost(3, 6)


def _ceiling(client: TestClient, anonymous: int) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"max_analysis_cost_anonymous": anonymous}
    )


def test_at_its_price_it_is_answered_and_past_it_refused(
    client: TestClient, actors: Actors
) -> None:
    """Priced when it computes: here the conclusions worker has not stored the looks yet."""
    client.app.state.conclude_inline = False  # type: ignore[attr-defined]
    cost = _three_versions(client, actors)
    _ceiling(client, cost)
    assert client.get(URL).status_code == 200
    _ceiling(client, cost - 1)
    refused = client.get(URL, params={"alpha": 0.01})  # not cached: a new design
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert (body["cost"], body["limit"]) == (cost, cost - 1)
    assert body["limit_setting"] == "MAX_ANALYSIS_COST_ANONYMOUS"
    assert "as_of=" in body["detail"]
    assert "API key" in body["detail"]
    with_key = client.get(URL, params={"alpha": 0.01}, headers=actors.submitter)
    assert with_key.status_code == 200, with_key.text
    # Once the worker has stored each version's look, the answer reads them: O(1) a version.
    client.app.state.conclusions.drain()  # type: ignore[attr-defined]
    stored = client.get(URL, params={"alpha": 0.02})
    assert stored.status_code == 200, stored.text


def _hits() -> float:
    return CACHE_LOOKUPS.labels(result="hit")._value.get()


def test_the_cache_key_resolves_the_mid_and_spells_numbers_one_way(
    client: TestClient, actors: Actors
) -> None:
    _three_versions(client, actors)
    first = client.get(URL)
    mid = first.json()["mid"]
    hits = _hits()
    for params in ({"mid": mid}, {"mid": f"{mid:.4f}"}, {"alpha": "0.050"}, {}):
        again = client.get(URL, params=params)
        assert again.json() == first.json()
    assert _hits() == hits + 4
    client.get(URL, params={"mid": 0.3})
    assert _hits() == hits + 4  # another design: computed


@pytest.mark.parametrize(
    "params",
    [{"mid": 0}, {"mid": 2.01}, {"alpha": 0.5}, {"power": 0.5}, {"power": 1}, {"mid": "x"}],
)
def test_parameters_out_of_their_ranges_are_422(client: TestClient, params: dict) -> None:
    response = client.get(URL, params=params)
    assert response.status_code == 422


def test_another_specification_is_computed_and_agrees_where_it_selects_the_same_trials(
    client: TestClient, actors: Actors
) -> None:
    """The stored looks are the default specification's. Under another one (here the
    peer-group category, which every trial is in) the looks are computed for the request, and
    selecting the same trials, they are the stored ones."""
    _three_versions(client, actors)
    stored = client.get(URL).json()
    computed = client.get(URL, params={"category": "peer-group"})
    assert computed.status_code == 200, computed.text
    body = computed.json()
    assert body["spec"]["category"] == "peer-group" != stored["spec"]["category"]
    del body["spec"], stored["spec"]
    assert body == stored
