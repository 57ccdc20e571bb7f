"""A backlog is concluded in runs: one claim, one read session, one store, one warm-up, and
still every version's own events and monitoring look (README "Architecture")."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.usecases.conclusions import worker as concluding
from service.usecases.conclusions.warm import warm_pooled
from service.usecases.pooled.cache import ResultCache
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.studies_support import Actors, create

pytestmark = pytest.mark.db
SELF_EFFICACY = {"outcome": "self-efficacy", "instrument": "general-self-efficacy-scale"}
HEADLINE = ("status", "k", "participants", "estimate", "ci_lower", "ci_upper")


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def overall_changes(client: TestClient, headers: dict[str, str]) -> dict[int, dict[str, Any]]:
    query = {"type": ["pooled.changed"], "outcome": "empowerment", "limit": 200}
    response = client.get("/v1/events", params=query, headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return {
        e["data"]["evidence_version"]: e["data"] for e in items if e["data"]["category"] is None
    }


def monitoring(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/outcomes/empowerment/monitoring", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_backlog_is_one_run_with_every_versions_events_and_looks(
    app: FastAPI, client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_batch(client, actors.trusted, [trial(0.2 + 0.1 * i, n=50) for i in range(4)])
    app.state.conclude_inline = False  # a backlog builds up
    versions = [
        create(client, actors.trusted, trial(0.1 * i, n=40 + 10 * i))["evidence_version"]
        for i in range(4)
    ]
    other = create(client, actors.trusted, trial(results=[outcome_result(0.4, **SELF_EFFICACY)]))
    versions.append(create(client, actors.trusted, trial(0.7, n=90))["evidence_version"])
    lag_monitoring = monitoring(client)  # computed on demand: the worker has not run
    monkeypatch.setattr(concluding, "RUN_SECONDS", 600.0)  # one run, however slow the machine
    worker = app.state.conclusions
    claims, warmed = [], []
    claim = worker._claim
    monkeypatch.setattr(worker, "_claim", lambda: claims.append(1) or claim())
    monkeypatch.setattr(worker, "_after", lambda version, outcomes: warmed.append(version))
    assert worker.drain() == sorted([*versions, other["evidence_version"]])
    assert len(claims) == 2  # the run, then nothing left
    assert warmed == [versions[-1]]  # warmed once, at the run's newest version
    # Each version has its own overall pooled.changed, before and after as GET answers them.
    changes = overall_changes(client, actors.admin)
    for version in versions:
        before = pooled(client, as_of=version - 1)
        after = pooled(client, as_of=version)
        event = changes[version]
        assert {f: event["before"][f] for f in HEADLINE} == {
            f: before["result"][f] if f in before["result"] else before[f] for f in HEADLINE
        }
        assert {f: event["after"][f] for f in HEADLINE} == {
            f: after["result"][f] if f in after["result"] else after[f] for f in HEADLINE
        }
    # The looks stored by the run are the ones monitoring computed from the evidence.
    assert monitoring(client) == lag_monitoring
    seen = {look["evidence_version"] for look in lag_monitoring["looks"]}
    assert set(versions) <= seen | set(lag_monitoring["skipped_versions"])  # a look each


def test_a_failure_in_a_run_releases_only_the_versions_of_its_outcomes(
    app: FastAPI, client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.state.conclude_inline = False
    first = create(client, actors.trusted, trial(0.3))["evidence_version"]
    later = create(client, actors.trusted, trial(0.5))["evidence_version"]
    other = create(client, actors.trusted, trial(results=[outcome_result(0.4, **SELF_EFFICACY)]))
    original = concluding.conclude_version

    def broken(session: Any, number: int, memo: Any) -> Any:
        if number == first:
            raise RuntimeError("a bug in a payload builder")
        return original(session, number, memo)

    monkeypatch.setattr(concluding, "conclude_version", broken)
    worker = app.state.conclusions
    assert worker.drain() == [first, other["evidence_version"]]
    status = client.get("/v1/operations/conclusions", headers=actors.admin).json()
    assert [f["evidence_version"] for f in status["failures"]] == [first]
    assert status["lag"]["waiting"] == 2  # the failure and the version behind it
    assert client.get("/health").json()["conclusions"]["failing"] == 1
    assert later not in overall_changes(client, actors.admin)  # released, not concluded


def test_warming_waits_for_no_version(
    app: FastAPI, client: TestClient, actors: Actors, session: Session
) -> None:
    add_batch(client, actors.trusted, [trial(0.2 + 0.1 * i, n=50) for i in range(4)])
    app.state.conclude_inline = False
    create(client, actors.trusted, trial(0.4, n=60))
    cache = ResultCache()
    # A version waits: concluding it comes first, its answer would be stale at once.
    assert warm_pooled(session, cache, ["empowerment"]) is False
    assert len(cache) == 0
    app.state.conclusions.drain()
    assert warm_pooled(session, cache, ["empowerment"]) is True
    assert len(cache) >= 1


def test_a_run_stores_what_it_computed_after_its_time_and_releases_the_rest(
    app: FastAPI, client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.state.conclude_inline = False
    versions = [
        create(client, actors.trusted, trial(0.1 * i))["evidence_version"] for i in range(3)
    ]
    monkeypatch.setattr(concluding, "RUN_SECONDS", 0.0)  # every version is past the run's time
    worker = app.state.conclusions
    assert worker.conclude_next() == versions[:1]  # one at least, the others released
    assert client.get("/health").json()["conclusions"]["waiting"] == 2
    assert worker.drain() == versions[1:]
    assert sorted(overall_changes(client, actors.admin)) == versions


def test_a_backlog_longer_than_a_run_is_concluded_in_runs_of_at_most_run_versions(
    app: FastAPI, client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUN at 2 (25 in service): five waiting versions are claimed 2, 2 and 1 at a time."""
    app.state.conclude_inline = False
    versions = [
        create(client, actors.trusted, trial(0.1 * i, n=40 + 10 * i))["evidence_version"]
        for i in range(5)
    ]
    monkeypatch.setattr(concluding, "RUN", 2)
    monkeypatch.setattr(concluding, "RUN_SECONDS", 600.0)
    worker = app.state.conclusions
    runs = [worker.conclude_next() for _ in range(4)]
    assert runs == [versions[0:2], versions[2:4], versions[4:], []]
