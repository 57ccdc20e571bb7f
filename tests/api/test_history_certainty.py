"""Each point of GET /v1/outcomes/{outcome}/history carries the certainty level and statement
that the pooled answer had at that version (same rules, same judgements), on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.usecases.pooled.cache import ResultCache
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend"), pytest.mark.unconcluded]
HISTORY = "/v1/outcomes/empowerment/history"


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _judge(client: TestClient, actors: Actors, domain: str, downgrade: int) -> None:
    body = {"domain": domain, "downgrade": downgrade, "reason": "Mostly inpatient populations"}
    response = client.post("/v1/outcomes/empowerment/judgements", json=body, headers=actors.curator)
    assert response.status_code == 201, response.text


def _evolve(client: TestClient, actors: Actors) -> list[int]:
    """Narrative, then pooled at high, a judgement, more trials, then Egger's test."""
    strong = [trial(0.5 + 0.02 * i, n=250, quality_rating="strong") for i in range(4)]
    versions = [add_batch(client, actors.trusted, strong[:2])["evidence_version"]]
    versions.append(add_batch(client, actors.trusted, strong[2:])["evidence_version"])
    _judge(client, actors, "indirectness", 1)  # a version with no point of its own
    weak = [trial(0.6, n=40, quality_rating="weak")]
    versions.append(add_batch(client, actors.trusted, weak)["evidence_version"])
    biased = [trial(1.2 - 0.1 * i, n=10 + 25 * i, quality_rating="strong") for i in range(8)]
    versions.append(add_batch(client, actors.trusted, biased)["evidence_version"])
    return versions


def _as_pooled(answer: dict[str, Any]) -> tuple[str | None, str]:
    level = answer["certainty"]["level"] if answer["certainty"] else None
    return level, answer["statement"]["text"]


def _points(client: TestClient, **params: Any) -> dict[int, tuple[str | None, str]]:
    response = client.get(HISTORY, params=params)
    assert response.status_code == 200, response.text
    return {
        p["evidence_version"]: (
            p["certainty"]["level"] if p["certainty"] else None,
            p["statement"]["text"],
        )
        for p in response.json()["points"]
    }


@pytest.mark.parametrize("mid", [None, 0.1])
def test_each_point_has_the_level_and_statement_of_the_answer_then(
    client: TestClient, actors: Actors, mid: float | None
) -> None:
    versions = _evolve(client, actors)
    params = {"mid": mid} if mid is not None else {}
    expected = {v: _as_pooled(pooled(client, as_of=v, **params)) for v in versions}
    levels = [expected[v][0] for v in versions]
    assert levels[0] is None  # two trials: narrative
    assert len(set(levels[1:])) > 1  # the judgement, the weak trial and Egger move the level
    assert expected[versions[0]][1].startswith("Too few randomized trials")
    warm = _points(client, **params)  # the pooled answers above are in the cache
    client.app.state.pooled_cache = ResultCache()
    cold = _points(client, **params)  # every point computed for the history itself
    assert warm == cold == expected


def test_a_judgement_counts_from_its_version_on(client: TestClient, actors: Actors) -> None:
    strong = [trial(0.5 + 0.02 * i, n=250, quality_rating="strong") for i in range(4)]
    first = add_batch(client, actors.trusted, strong)["evidence_version"]
    _judge(client, actors, "indirectness", 2)
    later = add_batch(client, actors.trusted, [trial(0.5, n=250, quality_rating="strong")])
    points = _points(client)
    assert points[first][0] == "high"
    assert points[later["evidence_version"]][0] == "low"
    assert "low certainty" in points[later["evidence_version"]][1]


def test_history_mid_out_of_range_is_a_422_naming_it(client: TestClient) -> None:
    response = client.get(HISTORY, params={"mid": 5})
    assert response.status_code == 422
    assert "mid" in response.text
