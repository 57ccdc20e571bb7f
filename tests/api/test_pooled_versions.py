"""Pooled results through time: as_of, conditional requests, the result cache and history."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.db.repositories.pooled import PooledRepository
from service.usecases.pooled.cache import ResultCache
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, headline, outcome_result, pooled, trial
from tests.api.studies_support import Actors, action, create, patch

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

URL = "/v1/outcomes/empowerment/pooled"


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _evolve(client: TestClient, actors: Actors) -> dict[int, dict[str, Any]]:
    """Versions 1-4: four trials, an update, a fifth trial, a withdrawal; each answer."""
    answers = {}
    created = add_batch(client, actors.trusted, [trial(0.1 * i, year=2010 + i) for i in range(4)])
    answers[1] = pooled(client)
    first_id = created["studies"][0]["id"]
    update = {"outcome_results": [outcome_result(0.9)]}
    assert patch(client, actors.trusted, first_id, update).status_code == 200
    answers[2] = pooled(client)
    fifth = create(client, actors.trusted, trial(-0.2, year=2020))["study"]["id"]
    answers[3] = pooled(client)
    assert action(client, actors.trusted, fifth, "withdraw", "Retracted by the journal.").is_success
    answers[4] = pooled(client)
    return answers


def test_as_of_returns_the_earlier_answers_exactly(client: TestClient, actors: Actors) -> None:
    answers = _evolve(client, actors)
    assert [a["evidence_version"] for a in answers.values()] == [1, 2, 3, 4]
    assert answers[1]["result"]["estimate"] != answers[2]["result"]["estimate"]
    assert answers[4]["result"] == answers[2]["result"]  # the withdrawal undid version 3
    for cache in ("warm", "cold"):
        if cache == "cold":  # recomputed from the stored evidence, not served from memory
            client.app.state.pooled_cache = ResultCache()
        for version, answer in answers.items():
            assert pooled(client, as_of=version) == answer
    assert pooled(client, as_of=0)["k"] == 0


def test_etag_304_and_cache_control(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    first = client.get(URL)
    etag = first.headers["etag"]
    assert etag.startswith('"pooled-')
    assert first.headers["cache-control"] == "public, max-age=0, must-revalidate"

    again = client.get(URL, headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == etag
    assert client.get(URL, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get(URL, params={"min_k": 5}, headers={"If-None-Match": etag}).status_code == 200

    pinned = client.get(URL, params={"as_of": 1})
    assert pinned.headers["etag"] == etag  # the same analysis of the same evidence
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"

    create(client, actors.trusted, trial(0.5))
    after = client.get(URL, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert after.json()["k"] == 5


def test_a_cached_or_current_answer_loads_no_evidence(
    client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    first = client.get(URL)
    table = client.get("/v1/pooled")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("evidence loaded for an answer that was already known")

    monkeypatch.setattr(PooledRepository, "evidence", refuse)
    assert client.get(URL).json() == first.json()
    assert client.get("/v1/pooled").json() == table.json()
    assert client.get(URL, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    # Another statistical option reuses the selected effects; another selection loads them.
    assert client.get(URL, params={"min_k": 3, "estimator": "DL"}).status_code == 200
    assert client.get(URL, params={"category": "one-to-one"}).status_code == 200
    assert client.get(URL, params={"min_quality": "moderate"}).status_code == 500


def test_history_has_one_point_per_version_that_changed_the_evidence(
    client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = _evolve(client, actors)  # versions 1-4 all change empowerment
    create(client, actors.submitter, trial(0.3))  # 5: pending, the evidence is unchanged
    self_efficacy = outcome_result(
        0.2, outcome="self-efficacy", instrument="general-self-efficacy-scale"
    )
    create(client, actors.trusted, trial(results=[self_efficacy]))  # 6: another outcome

    loads: list[Any] = []
    evidence = PooledRepository.evidence

    def counted(self: PooledRepository, outcomes: Any, *, at_versions: Any, **more: Any) -> Any:
        loads.append(at_versions)
        return evidence(self, outcomes, at_versions=at_versions, **more)

    monkeypatch.setattr(PooledRepository, "evidence", counted)
    client.app.state.pooled_cache = ResultCache()  # nothing known: every point is computed
    response = client.get("/v1/outcomes/empowerment/history")
    assert response.status_code == 200
    assert loads == [None]  # one evidence query (every revision) for the whole history
    history = response.json()
    # Versions 5 and 6 left empowerment's included evidence as version 4 had it.
    assert (history["evidence_version"], response.headers["evidence-checked-version"]) == (4, "6")
    points = history["points"]
    assert [p["evidence_version"] for p in points] == [1, 2, 3, 4]
    assert [p["kind"] for p in points] == ["batch", "update", "create", "withdraw"]
    for point in points:
        assert {key: point[key] for key in headline(answers[1])} == headline(
            answers[point["evidence_version"]]
        )
        assert point["participants"] == answers[point["evidence_version"]]["participants"]
    earlier = client.get("/v1/outcomes/empowerment/history", params={"as_of": 2}).json()
    assert [p["evidence_version"] for p in earlier["points"]] == [1, 2]
    assert earlier["points"] == points[:2]


def test_summary_table_cells_match_the_pooled_answers(client: TestClient, actors: Actors) -> None:
    categories = ["peer-group", "one-to-one", "peer-group", "peer-group", "peer-group"]
    add_batch(
        client, actors.trusted, [trial(0.1 * i, category=c) for i, c in enumerate(categories)]
    )
    response = client.get("/v1/pooled", params={"min_k": 2})
    assert response.status_code == 200
    table = response.json()
    assert table["options"]["min_k"] == 2
    cells = {(c["outcome"], c["category"]): c for c in table["cells"]}
    assert len(cells) == 3 * 4  # three outcomes, overall and in three categories
    for (outcome, category), cell in cells.items():
        params = {"min_k": 2} | ({"category": category} if category else {})
        answer = pooled(client, outcome, **params)
        assert {key: cell[key] for key in headline(answer)} == headline(answer)
        assert cell["i2"] == (answer["result"] or {}).get("i2")
    assert cells[("empowerment", None)]["status"] == "pooled"
    assert cells[("empowerment", "peer-group")]["k"] == 4
    assert cells[("empowerment", "one-to-one")]["status"] == "insufficient_evidence"
    assert cells[("self-efficacy", None)]["k"] == 0
    before_any = client.get("/v1/pooled", params={"as_of": 0})
    assert {cell["k"] for cell in before_any.json()["cells"]} == {0}
    assert before_any.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = response.headers["etag"]
    assert (
        client.get("/v1/pooled", params={"min_k": 2}, headers={"If-None-Match": etag}).status_code
        == 304
    )
