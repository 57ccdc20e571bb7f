"""The conclusions worker seen through the API: reads stay exact while it lags, a failing
version is recorded and retried without holding up other outcomes, and a narrative answer
never gets the reasons that need a pooled one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.usecases.conclusions import worker as concluding
from service.usecases.conclusions.worker import WorkerTiming
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.studies_support import Actors, create

pytestmark = pytest.mark.db
SELF_EFFICACY = {"outcome": "self-efficacy", "instrument": "general-self-efficacy-scale"}


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def lagging(app: FastAPI) -> None:
    """From now on the worker concludes only when the test drains it."""
    app.state.conclude_inline = False


def feed(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/v1/events", params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def monitoring(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/outcomes/empowerment/monitoring", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_reads_are_exact_while_the_worker_lags(
    app: FastAPI, client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(0.2 + 0.1 * i, n=50) for i in range(4)])
    concluded_monitoring = monitoring(client)  # from stored looks: all concluded
    lagging(app)
    written = create(client, actors.trusted, trial(0.9, n=300))
    version = written["evidence_version"]
    # Read-your-writes: the pooled answer and monitoring are of the new version, computed
    # on demand; the linked changes too, marked as not concluded yet.
    assert pooled(client)["evidence_version"] == version
    assert pooled(client)["k"] == 5
    lag_monitoring = monitoring(client)
    assert lag_monitoring["evidence_version"] == version
    assert lag_monitoring["participants"] == concluded_monitoring["participants"] + 600
    changes = client.get(written["changes"]).json()
    assert changes["concluded"] is False
    (change,) = changes["pooled_changes"]
    assert (change["before"]["k"], change["after"]["k"]) == (4, 5)
    assert client.get("/health").json()["conclusions"]["waiting"] == 1
    assert app.state.conclusions.drain() == [version]
    # Concluded: the same answers, now from the stored looks.
    assert monitoring(client) == lag_monitoring
    assert client.get(written["changes"]).json() == {**changes, "concluded": True}
    assert monitoring(client, as_of=version - 1) == concluded_monitoring  # as_of still works


def test_a_failing_version_is_retried_and_blocks_only_its_outcome(
    app: FastAPI, client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    lagging(app)
    first = create(client, actors.trusted, trial(0.3))["evidence_version"]
    other = create(client, actors.trusted, trial(results=[outcome_result(0.4, **SELF_EFFICACY)]))
    later = create(client, actors.trusted, trial(0.5))["evidence_version"]
    original = concluding.conclude_version

    def broken(session: Any, number: int, memo: Any) -> Any:
        if number == first:
            raise RuntimeError("a bug in a payload builder")
        return original(session, number, memo)

    monkeypatch.setattr(concluding, "conclude_version", broken)
    worker = app.state.conclusions
    worker.timing = WorkerTiming(lease=60, poll=0.01, retry=60)
    # The first version fails; the later empowerment version waits behind it (its events
    # must follow), the self-efficacy version goes on.
    assert worker.drain() == [first, other["evidence_version"]]
    assert worker.drain() == []  # the failure waits for its retry
    status = client.get("/v1/operations/conclusions", headers=actors.admin).json()
    (failure,) = status["failures"]
    assert failure["evidence_version"] == first
    assert failure["attempts"] == 1
    assert "a bug in a payload builder" in failure["last_error"]
    assert status["lag"] | {"lag_seconds": 0} == {
        "waiting": 2,
        "failing": 1,
        "lag_seconds": 0,
        "newest_concluded_version": other["evidence_version"],
    }
    assert client.get("/health").json()["conclusions"]["failing"] == 1
    monkeypatch.setattr(concluding, "conclude_version", original)
    start = datetime.now(UTC)
    worker.clock = lambda: start + timedelta(seconds=50)
    assert worker.drain() == []  # the first retry is due a minute after the failure
    worker.clock = lambda: start + timedelta(seconds=70)
    assert worker.drain() == [first, later]
    versions = [e["data"]["evidence_version"] for e in feed(client, actors.admin)]
    in_feed = list(dict.fromkeys(versions))  # each version's events are together
    # The self-efficacy version's events came first; empowerment's stayed in version order.
    assert in_feed == [other["evidence_version"], first, later]
    assert client.get("/health").json()["conclusions"]["waiting"] == 0


def test_a_narrative_answer_gets_no_reasons_that_need_a_pooled_one(
    client: TestClient, actors: Actors
) -> None:
    # Three large, consistent trials: monitoring would cross its boundary, but three
    # studies are not pooled (insufficient evidence), so there is no certainty and no
    # boundary or RIS to announce.
    add_batch(client, actors.trusted, [trial(0.8, n=500) for _ in range(2)])
    third = create(client, actors.trusted, trial(0.8, n=500))
    assert pooled(client)["status"] == "insufficient_evidence"
    reasons = [
        reason["code"]
        for event in feed(client, actors.admin)
        if event["type"] == "conclusion.changed"
        and event["data"]["evidence_version"] == third["evidence_version"]
        for reason in event["data"]["reasons"]
    ]
    assert not {"boundary_crossed", "ris_reached", "certainty"} & set(reasons)
    assert monitoring(client)["status"] in {"boundary_crossed", "ris_reached"}


def test_a_versions_look_is_the_one_its_events_fitted(
    app: FastAPI, client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monitoring reasons of a version's events fit its cumulative analysis; the stored
    look is that fit, not a second one (the same numbers: monitoring answers as it did)."""
    from service.usecases.judgement import looks

    add_batch(client, actors.trusted, [trial(0.2 + 0.1 * i, n=50) for i in range(4)])
    lagging(app)
    create(client, actors.trusted, trial(0.9, n=300))
    computed = monitoring(client)  # on demand: no look of the new version is stored yet
    fits: list[int] = []

    def counted(version: int, effects: Any) -> Any:
        fits.append(version)
        return analysis_at(version, effects)

    analysis_at = looks.analysis_at
    monkeypatch.setattr(looks, "analysis_at", counted)
    assert len(app.state.conclusions.drain()) == 1
    assert fits == []
    assert monitoring(client) == computed
