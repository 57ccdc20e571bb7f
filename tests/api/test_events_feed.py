"""The event outbox through the API: each write path records exactly its events, in order,
readable with gapless cursors by those who may see them (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db.models import ConclusionJob, Event
from service.schemas.studies import StudyCreate
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, trial
from tests.api.studies_support import Actors, Headers, action, create, patch
from tests.conftest import joined_worker

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend")]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def feed(client: TestClient, headers: Headers | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every event the key may read, page by page (limit 3), checking the cursors."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        query = {"limit": 3, **params, **({"after": after} if after else {})}
        response = client.get("/v1/events", params=query, headers=headers or {})
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if not page["items"]:
            assert page["next_cursor"] == after
            return items
        after = page["next_cursor"]


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """(type, study id or (outcome, category)) of each event."""
    return [
        (e["type"], e["data"].get("study_id") or (e["data"]["outcome"], e["data"]["category"]))
        for e in events
    ]


def new_events(client: TestClient, admin: Headers, seen: int) -> list[dict[str, Any]]:
    return feed(client, admin)[seen:]


EMPOWERMENT_CELLS = [
    ("pooled.changed", ("empowerment", None)),
    ("pooled.changed", ("empowerment", "peer-group")),
]


def test_each_write_path_records_exactly_its_events(client: TestClient, actors: Actors) -> None:
    admin = actors.admin
    pending = create(client, actors.submitter, trial(0.3))["study"]["id"]
    assert kinds(feed(client, admin)) == [("study.submitted", pending)]
    assert action(client, actors.curator, pending, "include").status_code == 200
    events = new_events(client, admin, 1)
    assert kinds(events) == [("study.included", pending), *EMPOWERMENT_CELLS]
    assert events[1]["data"]["before"]["k"] == 0
    assert events[1]["data"]["after"]["k"] == 1
    assert events[1]["data"]["after"]["evidence_version"] == 2
    # A narrative cell's headline is k and participants: more participants change it.
    bigger = trial(0.3, n=45)
    changes = {"total_randomized": 90, "arms": bigger["arms"]}
    assert patch(client, actors.curator, pending, changes).status_code == 200
    assert kinds(new_events(client, admin, 4)) == [("study.updated", pending), *EMPOWERMENT_CELLS]
    assert action(client, actors.curator, pending, "exclude", "duplicate").status_code == 200
    assert kinds(new_events(client, admin, 7)) == [("study.excluded", pending), *EMPOWERMENT_CELLS]
    assert action(client, actors.curator, pending, "withdraw", "retracted").status_code == 200
    assert kinds(new_events(client, admin, 10)) == [("study.withdrawn", pending)]
    ids = [s["id"] for s in add_batch(client, actors.trusted, [trial(0.2), trial(0.4)])["studies"]]
    expected = [("study.submitted", ids[0]), ("study.submitted", ids[1]), *EMPOWERMENT_CELLS]
    assert kinds(new_events(client, admin, 11)) == expected


def test_event_ids_are_gapless_and_in_version_order(client: TestClient, actors: Actors) -> None:
    for shift in (0.1, 0.2, 0.3):
        create(client, actors.trusted, trial(shift))
    events = feed(client, actors.admin)
    assert [e["id"] for e in events] == [f"evt_{n}" for n in range(1, len(events) + 1)]
    versions = [e["data"]["evidence_version"] for e in events]
    assert versions == sorted(versions) == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    for event in events:
        assert event["schema_version"] == 1
        assert event["timestamp"].endswith("Z")
        assert len(json.dumps(event).encode()) < 20_000


def test_refused_and_replayed_writes_leave_no_event(client: TestClient, actors: Actors) -> None:
    body = trial(0.3)
    headers = {**actors.trusted, "Idempotency-Key": "one"}
    assert client.post("/v1/studies", json=body, headers=headers).status_code == 201
    assert client.post("/v1/studies", json=body, headers=headers).status_code == 201  # replay
    assert client.post("/v1/studies", json=body, headers=actors.trusted).status_code == 409
    invalid = client.post("/v1/studies", json={"title": "x"}, headers=actors.trusted)
    assert invalid.status_code == 422
    assert [e["type"] for e in feed(client, actors.admin)] == [
        "study.submitted",
        *(t for t, _ in EMPOWERMENT_CELLS),
    ]


def test_a_rolled_back_write_leaves_no_outbox_row_and_no_event(session: Session) -> None:
    context = WriteContext(actor="bot", request_id=None, may_curate=True, trusted=True)
    events = select(func.count()).select_from(Event)
    jobs = select(func.count()).select_from(ConclusionJob)
    with session.begin_nested() as savepoint:
        create_study(session, StudyCreate.model_validate(trial(0.3)), context)
        # A write records its version and one outbox row; the worker writes the events.
        assert session.execute(jobs).scalar_one() == 1
        assert session.execute(events).scalar_one() == 0
        savepoint.rollback()
    assert session.execute(jobs).scalar_one() == 0
    create_study(session, StudyCreate.model_validate(trial(0.3)), context)
    session.flush()
    worker = joined_worker(session.connection())
    assert worker.drain() == [1]  # the rolled-back number was taken again: no gap
    ids = session.scalars(select(Event.id).order_by(Event.id)).all()
    assert list(ids) == [1, 2, 3]
    assert worker.drain() == []  # concluded once


def test_study_events_only_for_keys_that_may_see_the_study(
    client: TestClient, actors: Actors
) -> None:
    mine = create(client, actors.submitter, trial(0.3))["study"]["id"]
    other = actors.key("submit")
    assert feed(client) == []  # anonymous: study events need a key
    assert kinds(feed(client, actors.submitter)) == [("study.submitted", mine)]
    assert feed(client, other) == []  # someone else's pending study
    assert kinds(feed(client, actors.curator)) == [("study.submitted", mine)]
    action(client, actors.curator, mine, "include")
    seen_by_other = kinds(feed(client, other))
    assert seen_by_other == [("study.included", mine), *EMPOWERMENT_CELLS]
    assert kinds(feed(client)) == EMPOWERMENT_CELLS  # pooled changes are public


def test_filters_by_type_and_outcome(client: TestClient, actors: Actors) -> None:
    stigma = outcome_result(0.3, outcome="internalized-stigma", instrument="ismi")
    create(client, actors.trusted, trial(0.3))
    create(client, actors.trusted, trial(0.3, results=[stigma]))
    pooled = feed(client, actors.admin, type=["pooled.changed"], outcome=["internalized-stigma"])
    assert [(e["data"]["outcome"], e["data"]["category"]) for e in pooled] == [
        ("internalized-stigma", None),
        ("internalized-stigma", "peer-group"),
    ]
    studies = feed(client, actors.admin, type=["study.submitted"])
    assert [e["type"] for e in studies] == ["study.submitted"] * 2


def test_conclusion_changed_when_the_review_starts_pooling(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(0.6, n=60) for _ in range(4)])
    conclusions = feed(client, actors.admin, type=["conclusion.changed"])
    started = {"code": "status", "before": "insufficient_evidence", "after": "pooled"}
    assert [(e["data"]["category"], e["data"]["reasons"][0]) for e in conclusions] == [
        (None, started),
        ("peer-group", started),
    ]
    # The overall cell also says its certainty and monitoring (tests/api/test_event_judged_...).
    assert [r["code"] for r in conclusions[0]["data"]["reasons"]][1:] == [
        "certainty",
        "boundary_crossed",
    ]
    assert conclusions[1]["data"]["reasons"] == [started]
    add_batch(client, actors.trusted, [trial(-1.5, n=60) for _ in range(6)])
    flipped = feed(client, actors.admin, type=["conclusion.changed"])[2:]
    codes = {reason["code"] for reason in flipped[0]["data"]["reasons"]}
    assert codes == {"direction", "significance"}  # a moderate effect became a moderate harm
    assert flipped[0]["data"]["after"]["estimate"] < 0 < flipped[0]["data"]["before"]["estimate"]


def test_bad_cursors_and_waits_are_422(client: TestClient) -> None:
    assert client.get("/v1/events", params={"after": "nope"}).status_code == 422
    assert client.get("/v1/events", params={"wait": 31}).status_code == 422
    assert client.get("/v1/events", params={"type": "study.eaten"}).status_code == 422
