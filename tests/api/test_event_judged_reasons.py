"""conclusion.changed carries the certainty and sequential-monitoring reasons of the overall
cell, through real writes (POST /v1/studies + include), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

import service.usecases.events.judged_reasons as judged_reasons
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors, action, create

pytestmark = pytest.mark.usefixtures("backend")


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
    """How often a write's events compute monitoring and certainty (patched to count)."""
    counts: Counter[str] = Counter()
    for name in ("monitoring", "certainty_level_at"):
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
    # A pending submission previews its inclusion through the real write in a rolled-back
    # SAVEPOINT: neither that preview nor the write itself (which moves nothing) judges.
    pending = create(client, actors.submitter, trial(0.6, n=60))
    assert pending["pooled_changes"][0]["counted"] is False
    preview = client.post("/v1/studies/preview", json=trial(0.3, n=60), headers=actors.submitter)
    assert preview.status_code == 200, preview.text  # the same write, rolled back: no events
    assert counts == Counter()
    create(client, actors.trusted, trial(0.5, n=60))  # before (the pending version) and after
    assert counts == Counter({"monitoring": 2, "certainty_level_at": 2})
    create(client, actors.trusted, trial(0.4, n=60))  # before: the previous write's after
    assert counts == Counter({"monitoring": 3, "certainty_level_at": 3})
