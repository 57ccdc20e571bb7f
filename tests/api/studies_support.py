"""Helpers for the evidence store's API tests: keys by role, and short request helpers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import make_url

from service.db.engine import Database
from service.settings import Settings
from service.usecases.operations.keys import create_api_key
from tests.api.conftest import Auth, MakeKey
from tests.factories import Body
from tests.support.databases import migrated_database

Headers = dict[str, str]


class Actors:
    """Authorization headers for each kind of key, created on first use."""

    def __init__(self, make_key: MakeKey, auth: Auth) -> None:
        self._make_key = make_key
        self._auth = auth

    def key(self, *scopes: str, trusted: bool = False) -> Headers:
        return self._auth(self._make_key(list(scopes), trusted=trusted))

    @cached_property
    def submitter(self) -> Headers:
        """Submit scope, not trusted: its studies wait as pending."""
        return self.key("submit")

    @cached_property
    def trusted(self) -> Headers:
        """Submit scope, trusted: its studies are included at once."""
        return self.key("submit", trusted=True)

    @cached_property
    def curator(self) -> Headers:
        return self.key("submit", "curate")

    @cached_property
    def admin(self) -> Headers:
        return self.key("admin")


def create(client: TestClient, headers: Headers, body: Body) -> dict[str, Any]:
    """POST a study that must be accepted; the response body."""
    response = client.post("/v1/studies", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def changes_of(client: TestClient, written: dict[str, Any]) -> list[dict[str, Any]]:
    """The pooled changes a write's answer links to (GET /v1/versions/{n}/changes)."""
    response = client.get(written["changes"])
    assert response.status_code == 200, response.text
    changes: list[dict[str, Any]] = response.json()["pooled_changes"]
    return changes


def study_id_of(client: TestClient, headers: Headers, body: Body) -> int:
    return int(create(client, headers, body)["study"]["id"])


def etag(client: TestClient, study_id: int) -> str:
    response = client.get(f"/v1/studies/{study_id}")
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def patch(
    client: TestClient, headers: Headers, study_id: int, body: Body, *, if_match: str | None = None
) -> Response:
    """PATCH with the study's current ETag unless ``if_match`` is given."""
    tag = if_match if if_match is not None else etag(client, study_id)
    return client.patch(f"/v1/studies/{study_id}", json=body, headers={**headers, "If-Match": tag})


def action(
    client: TestClient, headers: Headers, study_id: int, name: str, reason: str | None = None
) -> Response:
    """POST include, exclude or withdraw."""
    body = None if reason is None else {"reason": reason}
    return client.post(f"/v1/studies/{study_id}/{name}", json=body, headers=headers)


def head_version(client: TestClient) -> int:
    """The newest evidence version (0 before any write)."""
    items = client.get("/v1/versions", params={"limit": 1}).json()["items"]
    return int(items[0]["number"]) if items else 0


def listed_ids(client: TestClient, **params: Any) -> list[int]:
    response = client.get("/v1/studies", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def problem_fields(response: Response) -> set[str]:
    """The fields a 422 problem names."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {error["field"] for error in response.json()["errors"]}


@contextmanager
def committed_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a migrated database of the test's own, where transactions really commit."""
    with migrated_database(backend, tmp_path) as url:
        yield Settings(database_url=url)


def committed_key(settings: Settings, scopes: list[str], *, name: str = "bot") -> str:
    """A key committed to the database of ``settings``; its plaintext."""
    database = Database.from_settings(settings)
    try:
        with database.session(write=True) as session:
            return create_api_key(session, name=name, scopes=scopes).plaintext
    finally:
        database.dispose()


def wait_until_a_writer_waits_for_a_lock(settings: Settings) -> None:
    """Return once some transaction of ``settings``' database is blocked on a lock."""
    if settings.is_sqlite:
        # SQLite shows no lock waits: the writer sits in BEGIN IMMEDIATE's busy loop.
        time.sleep(0.5)
        return
    url = make_url(settings.database_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
    with psycopg.connect(dsn, autocommit=True) as connection:
        for _ in range(200):
            row = connection.execute(query, (url.database,)).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.05)
    raise AssertionError("no transaction ever waited for a lock")
