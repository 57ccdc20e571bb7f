"""conclusion.changed carries the certainty and sequential-monitoring reasons of the overall
cell, through real writes (POST /v1/studies + include), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

import service.usecases.events.judged_reasons as judged_reasons
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.studies_support import Actors, action, create

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend")]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def overall_reasons(client: TestClient, actors: Actors) -> dict[int, list[dict[str, Any]]]:
    """The reasons of each overall conclusion.changed event, by evidence version."""
    query = {"type": ["conclusion.changed"], "limit": 100}
    response = client.get("/v1/events", params=query, headers=actors.admin)
    assert response.status_code == 200, response.text
    return {
        e["data"]["evidence_version"]: e["data"]["reasons"]
        for e in response.json()["items"]
        if e["data"]["category"] is None
    }


def include(client: TestClient, actors: Actors, body: dict[str, Any]) -> int:
    """Submit a study and include it; the evidence version of the inclusion."""
    study_id = create(client, actors.submitter, body)["study"]["id"]
    response = action(client, actors.curator, study_id, "include")
    assert response.status_code == 200, response.text
    return int(response.json()["evidence_version"])


def codes(reasons: list[dict[str, Any]] | None) -> set[str]:
    return {reason["code"] for reason in reasons or []}


def level(client: TestClient) -> str:
    return str(pooled(client)["certainty"]["level"])


def test_certainty_reason_follows_the_grade_level(client: TestClient, actors: Actors) -> None:
    first = add_batch(client, actors.trusted, [trial(0.6, n=60) for _ in range(4)])
    started = overall_reasons(client, actors)[first["evidence_version"]]
    certainty = next(r for r in started if r["code"] == "certainty")
    assert certainty == {"code": "certainty", "before": None, "after": level(client)}
    before = level(client)
    # One more moderate-quality trial of the same effect: the level stays, no reason.
    same = include(client, actors, trial(0.6, n=60))
    assert level(client) == before
    assert "certainty" not in codes(overall_reasons(client, actors).get(same))
    # A large trial at low risk of bias carries most of the weight: the level rises.
    moved = include(client, actors, trial(0.6, n=400, quality_rating="strong"))
    after = level(client)
    assert after != before
    reasons = overall_reasons(client, actors)[moved]
    assert {"code": "certainty", "before": before, "after": after} in reasons


def monitoring_status(client: TestClient) -> str:
    response = client.get("/v1/outcomes/empowerment/monitoring")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def test_ris_reached_is_a_reason_once(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.0, n=60) for _ in range(4)])
    assert monitoring_status(client) == "continue"
    reached = include(client, actors, trial(0.0, n=400))
    assert monitoring_status(client) == "ris_reached"
    expected = {"code": "ris_reached", "before": "continue", "after": "ris_reached"}
    assert expected in overall_reasons(client, actors)[reached]
    again = include(client, actors, trial(0.0, n=60))
    assert monitoring_status(client) == "ris_reached"
    assert "ris_reached" not in codes(overall_reasons(client, actors).get(again))


def test_boundary_crossed_is_a_reason_once(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.3, n=30) for _ in range(4)])
    assert monitoring_status(client) == "continue"
    crossed = include(client, actors, trial(0.3, n=400))
    assert monitoring_status(client) == "boundary_crossed"
    expected = {"code": "boundary_crossed", "before": "continue", "after": "boundary_crossed"}
    assert expected in overall_reasons(client, actors)[crossed]
    again = include(client, actors, trial(0.3, n=60))
    assert monitoring_status(client) == "boundary_crossed"
    assert "boundary_crossed" not in codes(overall_reasons(client, actors).get(again))


def counted_computations(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often a write's events select every version's evidence for monitoring, compute a
    monitoring status, and assess certainty (patched to count)."""
    counts: Counter[str] = Counter()
    for name in ("cumulative_analyses", "monitoring", "monitoring_of", "certainty_level_at"):
        original = getattr(judged_reasons, name)

        def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            counts[_name] += 1
            return _original(*args)

        monkeypatch.setattr(judged_reasons, name, counted)
    return counts


def test_each_side_is_computed_once_and_never_for_a_pending_write(
    client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_batch(client, actors.trusted, [trial(0.6, n=60) for _ in range(4)])
    counts = counted_computations(monkeypatch)
    # A pending submission computes no preview (it links one), and its version, concluded by
    # the worker, moves nothing, so nothing is judged.
    pending = create(client, actors.submitter, trial(0.6, n=60))
    assert pending["pooled_changes"] is None
    assert pending["preview"] == f"/v1/studies/{pending['study']['id']}/preview"
    preview = client.post("/v1/studies/preview", json=trial(0.3, n=60), headers=actors.submitter)
    assert preview.status_code == 200, preview.text  # the same write, rolled back: no events
    assert counts == Counter()
    # The pending version changed nothing: before is what the batch's version derived (its
    # level and status, remembered), after one more fit; no write selects every version's
    # evidence again.
    create(client, actors.trusted, trial(0.5, n=60))
    assert counts == Counter({"monitoring_of": 1, "certainty_level_at": 1})
    # Before: the previous write's after.
    create(client, actors.trusted, trial(0.4, n=60))
    assert counts == Counter({"monitoring_of": 2, "certainty_level_at": 2})


def test_a_writes_monitoring_equals_the_monitoring_answer_at_its_version(
    client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The looks a write builds from the previous write's (one more fit, or none when the
    headline stayed, or those of the last write that moved the outcome) give the very answer
    GET .../monitoring?as_of= gives at that version."""
    computed: dict[tuple[str, int], dict[str, Any]] = {}
    original = judged_reasons.monitoring_of

    def recorded(context: Any, analyses: Any, effects: Any) -> Any:
        answer = original(context, analyses, effects)
        computed[context.outcome, context.version] = answer.model_dump(mode="json")
        return answer

    monkeypatch.setattr(judged_reasons, "monitoring_of", recorded)
    add_batch(client, actors.trusted, [trial(0.3, n=30) for _ in range(4)])
    follow_up = [outcome_result(0.9, n=50, weeks=26, label="follow-up")]
    other = {"outcome": "self-efficacy", "instrument": "general-self-efficacy-scale"}
    other_outcome = [outcome_result(0.4, n=70, **other)]
    writes = [
        (actors.submitter, trial(0.6, n=60)),  # pending: no included evidence moves
        (actors.trusted, trial(0.3, n=400)),
        (actors.trusted, trial(0.2, n=50, results=follow_up)),  # included, headline stays
        (actors.trusted, trial(0.5, n=80)),
        (actors.trusted, trial(0.4, n=70, results=other_outcome)),  # empowerment untouched
        (actors.trusted, trial(0.1, n=200)),
    ]
    for headers, body in writes:
        create(client, headers, body)
    assert len({version for outcome, version in computed if outcome == "empowerment"}) >= 4
    for (outcome, version), answer in computed.items():
        response = client.get(f"/v1/outcomes/{outcome}/monitoring", params={"as_of": version})
        assert response.status_code == 200, response.text
        assert response.json() == answer, (outcome, version)
