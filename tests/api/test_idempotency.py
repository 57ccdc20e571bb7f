"""Idempotent writes over HTTP: replays, reused keys, failures, expiry, key validation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.api.auth import SubmitPrincipalDep
from service.api.deps import WriteSessionDep
from service.api.idempotency import IdempotencyDep
from service.api.security import SECURITY_HEADERS
from service.db.base import utc_now
from service.db.engine import Database
from service.db.models import ApiKey, IdempotencyRecord
from service.errors import ConflictError
from service.main import create_app
from service.settings import Settings
from service.usecases.operations.idempotency import purge_expired
from service.usecases.operations.keys import create_api_key
from tests.api.conftest import Auth, MakeKey
from tests.support.databases import migrated_database

pytestmark = pytest.mark.db

PROBLEM = "application/problem+json"


class Thing(BaseModel):
    name: str


@dataclass
class Probe:
    """What the probe route did: the names it ran for, and how the next run should end."""

    runs: list[str] = field(default_factory=list)
    outcome: str = "created"  # or "refused" (a 409 response) or "raise"


def _produce(session: Any, thing: Thing, probe: Probe) -> Response:
    probe.runs.append(thing.name)
    # The write the route exists for; it must commit or roll back with the stored response.
    create_api_key(session, name=thing.name, scopes=["read"])
    if probe.outcome == "raise":
        raise ConflictError("the probe was told to fail")
    if probe.outcome == "refused":
        return JSONResponse({"refused": thing.name}, status_code=409)
    return JSONResponse(
        {"name": thing.name, "run": len(probe.runs)},
        status_code=201,
        headers={"Location": f"/probe/things/{thing.name}", "ETag": f'"{len(probe.runs)}"'},
    )


@pytest.fixture
def probe(app: FastAPI) -> Probe:
    probe = Probe()

    @app.post("/probe/things", status_code=201)
    def create_thing(
        thing: Thing,
        session: WriteSessionDep,
        _: SubmitPrincipalDep,
        idempotency: IdempotencyDep,
        dry: bool = False,  # a declared query parameter: unknown ones are refused first
    ) -> Response:
        return idempotency.execute(lambda: _produce(session, thing, probe))

    return probe


@pytest.fixture
def probe_client(app: FastAPI, probe: Probe) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def headers(make_key: MakeKey, auth: Auth) -> dict[str, str]:
    return auth(make_key(["submit"]))


def _post(client: TestClient, headers: dict[str, str], key: str | None, name: str) -> Any:
    extra = {} if key is None else {"Idempotency-Key": key}
    return client.post("/probe/things", json={"name": name}, headers=headers | extra)


def _rows(session: Session, name: str) -> int:
    return session.scalar(select(func.count()).where(ApiKey.name == name)) or 0


def _records(session: Session, key: str) -> list[IdempotencyRecord]:
    session.expire_all()
    query = select(IdempotencyRecord).where(IdempotencyRecord.key == key)
    return list(session.scalars(query))


def _sent_headers(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}


def test_without_a_key_every_request_runs(
    probe_client: TestClient, probe: Probe, headers: dict[str, str], session: Session
) -> None:
    assert _post(probe_client, headers, None, "a").status_code == 201
    assert _post(probe_client, headers, None, "b").status_code == 201
    assert probe.runs == ["a", "b"]
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_a_retry_replays_status_headers_and_body_and_writes_nothing(
    probe_client: TestClient, probe: Probe, headers: dict[str, str], session: Session
) -> None:
    first = _post(probe_client, headers, "order-1", "thing-1")
    retry = _post(probe_client, headers, "order-1", "thing-1")
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true"
    assert _sent_headers(retry) == _sent_headers(first) | {"idempotent-replayed": "true"}
    assert retry.headers.raw.count((b"location", b"/probe/things/thing-1")) == 1
    assert retry.headers["x-request-id"] != first.headers["x-request-id"]
    assert probe.runs == ["thing-1"]
    assert _rows(session, "thing-1") == 1
    [record] = _records(session, "order-1")
    assert (record.status_code, record.body) == (201, first.content)
    # What the route answered is stored; what the middleware adds on the way out is not.
    added = {"x-request-id", *SECURITY_HEADERS}
    assert [tuple(h) for h in record.headers or []] == [
        (name, value) for name, value in first.headers.items() if name not in added
    ]


@pytest.mark.parametrize(
    ("path", "name"), [("/probe/things", "other-thing"), ("/probe/things?dry=1", "thing-1")]
)
def test_the_same_key_for_another_request_is_422(
    probe_client: TestClient, probe: Probe, headers: dict[str, str], path: str, name: str
) -> None:
    assert _post(probe_client, headers, "order-1", "thing-1").status_code == 201
    headers = headers | {"Idempotency-Key": "order-1"}
    response = probe_client.post(path, json={"name": name}, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/idempotency-key-reused")
    assert probe.runs == ["thing-1"]


def test_keys_of_different_api_keys_are_independent(
    probe_client: TestClient, probe: Probe, make_key: MakeKey, auth: Auth, session: Session
) -> None:
    alice, bob = auth(make_key(["submit"])), auth(make_key(["admin"]))
    assert _post(probe_client, alice, "shared", "by-alice").status_code == 201
    response = _post(probe_client, bob, "shared", "by-bob")
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert probe.runs == ["by-alice", "by-bob"]
    assert len(_records(session, "shared")) == 2


def test_an_error_response_is_stored_and_replayed(
    probe_client: TestClient, probe: Probe, headers: dict[str, str], session: Session
) -> None:
    probe.outcome = "refused"
    first = _post(probe_client, headers, "order-1", "thing-1")
    probe.outcome = "created"
    retry = _post(probe_client, headers, "order-1", "thing-1")
    assert first.status_code == retry.status_code == 409
    assert retry.json() == {"refused": "thing-1"}
    assert retry.headers["idempotent-replayed"] == "true"
    assert probe.runs == ["thing-1"]
    assert [r.status_code for r in _records(session, "order-1")] == [409]


def test_a_request_that_raises_stores_nothing_and_can_be_retried(
    probe_client: TestClient, probe: Probe, headers: dict[str, str], session: Session
) -> None:
    probe.outcome = "raise"
    failed = _post(probe_client, headers, "order-1", "thing-1")
    assert failed.status_code == 409
    assert failed.headers["content-type"] == PROBLEM
    assert _records(session, "order-1") == []
    assert _rows(session, "thing-1") == 0
    probe.outcome = "created"
    retry = _post(probe_client, headers, "order-1", "thing-1")
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert probe.runs == ["thing-1", "thing-1"]
    assert _rows(session, "thing-1") == 1


def test_records_are_kept_for_the_ttl(
    probe_client: TestClient, headers: dict[str, str], session: Session, app: FastAPI
) -> None:
    before = utc_now()
    _post(probe_client, headers, "order-1", "thing-1")
    [record] = _records(session, "order-1")
    ttl = timedelta(hours=app.state.settings.idempotency_ttl_hours)
    assert before + ttl <= record.expires_at <= utc_now() + ttl
    assert record.expires_at - record.created_at == ttl


def test_an_expired_record_is_not_replayed(
    probe_client: TestClient, probe: Probe, headers: dict[str, str], session: Session
) -> None:
    assert _post(probe_client, headers, "order-1", "thing-1").status_code == 201
    past = utc_now() - timedelta(seconds=1)
    session.execute(update(IdempotencyRecord).values(expires_at=past))
    session.commit()
    # The earlier run's row is still there, so this run must use another name to succeed.
    response = _post(probe_client, headers, "order-1", "thing-2")
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert probe.runs == ["thing-1", "thing-2"]
    [record] = _records(session, "order-1")
    assert record.expires_at > utc_now()
    assert record.body == response.content


def test_purge_deletes_only_expired_records(
    probe_client: TestClient, headers: dict[str, str], session: Session
) -> None:
    _post(probe_client, headers, "old", "thing-1")
    _post(probe_client, headers, "new", "thing-2")
    past = utc_now() - timedelta(seconds=1)
    session.execute(
        update(IdempotencyRecord).where(IdempotencyRecord.key == "old").values(expires_at=past)
    )
    assert purge_expired(session) == 1
    assert _records(session, "old") == []
    assert len(_records(session, "new")) == 1


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "tab\there", "caf\xe9"],
    ids=["empty", "too-long", "control-character", "not-ascii"],
)
def test_an_invalid_key_is_422(
    probe_client: TestClient, probe: Probe, headers: dict[str, str], key: str
) -> None:
    response = probe_client.post(
        "/probe/things",
        json={"name": "thing-1"},
        headers=headers | {"Idempotency-Key": key.encode("latin-1")},  # type: ignore[dict-item]
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert "Idempotency-Key" in response.json()["detail"]
    assert probe.runs == []


def test_the_longest_printable_key_is_accepted(
    probe_client: TestClient, probe: Probe, headers: dict[str, str]
) -> None:
    key = ("order 1/2 ~!" * 30)[:255]
    assert _post(probe_client, headers, key, "thing-1").status_code == 201
    assert _post(probe_client, headers, key, "thing-1").headers["idempotent-replayed"] == "true"
    assert probe.runs == ["thing-1"]


def test_an_idempotent_write_still_needs_a_key_with_the_scope(
    probe_client: TestClient, probe: Probe, make_key: MakeKey, auth: Auth
) -> None:
    assert _post(probe_client, {}, "order-1", "thing-1").status_code == 401
    assert _post(probe_client, auth(make_key(["read"])), "order-1", "thing-1").status_code == 403
    assert probe.runs == []


# --- concurrent retries, with transactions that really commit ----------------------------


@pytest.fixture
def committed_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a migrated database of the test's own, outside any test transaction."""
    with migrated_database(backend, tmp_path) as url:
        yield Settings(database_url=url)


def _count(settings: Settings, query: Any) -> int:
    database = Database.from_settings(settings)
    try:
        with database.session() as session:
            return session.scalar(query) or 0
    finally:
        database.dispose()


def _committed_key(settings: Settings) -> str:
    database = Database.from_settings(settings)
    try:
        with database.session(write=True) as session:
            return create_api_key(session, name="bot", scopes=["submit"]).plaintext
    finally:
        database.dispose()


def _wait_until_a_request_waits_for_a_lock(settings: Settings) -> None:
    if settings.is_sqlite:
        # SQLite shows no lock waits; the second writer sits in BEGIN IMMEDIATE's busy loop.
        time.sleep(0.5)
        return
    database = make_url(settings.database_url).database
    dsn = (
        make_url(settings.database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(200):
            row = conn.execute(query, (database,)).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.05)
    pytest.fail("the second request never waited for the first one's claim")


def _run_two_at_once(settings: Settings, *, first_fails: bool) -> tuple[Any, Any, list[int]]:
    """The same write twice, the second sent while the first is inside its transaction."""
    app = create_app(settings)
    entered, release, runs = threading.Event(), threading.Event(), []

    @app.post("/probe/slow")
    def slow(session: WriteSessionDep, _: SubmitPrincipalDep, idem: IdempotencyDep) -> Response:
        def produce() -> Response:
            runs.append(len(runs) + 1)
            create_api_key(session, name=f"row-{len(runs)}", scopes=["read"])
            entered.set()
            release.wait(10)
            if first_fails and len(runs) == 1:
                raise ConflictError("the first request fails")
            return JSONResponse({"run": len(runs)}, status_code=201)

        return idem.execute(produce)

    headers = {"Authorization": f"Bearer {_committed_key(settings)}", "Idempotency-Key": "k"}
    with TestClient(app, raise_server_exceptions=False) as client, ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, "/probe/slow", headers=headers)
        assert entered.wait(10)
        second = pool.submit(client.post, "/probe/slow", headers=headers)
        _wait_until_a_request_waits_for_a_lock(settings)
        release.set()
        return first.result(timeout=20), second.result(timeout=20), runs


def test_a_concurrent_retry_waits_and_replays(committed_settings: Settings) -> None:
    first, second, runs = _run_two_at_once(committed_settings, first_fails=False)
    assert runs == [1]
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    rows = select(func.count()).where(ApiKey.name.like("row-%"))
    assert _count(committed_settings, rows) == 1
    records = select(func.count()).select_from(IdempotencyRecord)
    assert _count(committed_settings, records) == 1


def test_a_concurrent_retry_runs_when_the_first_request_rolls_back(
    committed_settings: Settings,
) -> None:
    first, second, runs = _run_two_at_once(committed_settings, first_fails=True)
    assert runs == [1, 2]
    assert first.status_code == 409
    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    names = select(func.count()).where(ApiKey.name.in_(["row-1", "row-2"]))
    assert _count(committed_settings, names) == 1
    records = select(func.count()).where(IdempotencyRecord.status_code == 201)
    assert _count(committed_settings, records) == 1
