"""The request's session without the tests' overrides: ended on every path, in few thread trips.

The other API tests join their sessions to a rolled-back transaction; these use the app's own
sessions on the migrated test database and only read (or fail before writing anything).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.pool import QueuePool

from service.db.engine import Database
from service.main import create_app
from service.settings import Settings

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]


@pytest.fixture
def own_sessions(settings: Settings) -> Iterator[tuple[TestClient, Database]]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app.state.database


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A one-item list: how many times the app has gone to the thread pool so far."""
    count = [0]
    run_sync = anyio.to_thread.run_sync

    async def counting(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return await run_sync(*args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return count


def _connections_in_use(database: Database) -> int:
    pool = database.read_engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


def _trips_for(client: TestClient, trips: list[int], path: str, **kwargs: Any) -> int:
    before = trips[0]
    client.get(path, **kwargs)
    return trips[0] - before


def test_cached_pooled_gets_stay_on_the_event_loop(
    own_sessions: tuple[TestClient, Database], trips: list[int]
) -> None:
    client, database = own_sessions
    for path in ("/v1/pooled", "/v1/outcomes/empowerment/pooled"):
        # The first answer goes through the route, to the thread pool once; then the URL is
        # known and its hits and 304s are answered on the event loop (service.api.fast_path).
        # (Identity: a compressed copy is made once, in a trip of its own.)
        plain = {"Accept-Encoding": "identity"}
        assert _trips_for(client, trips, path, headers=plain) == 1
        etag = client.get(path, headers=plain).headers["etag"]
        assert _trips_for(client, trips, path, headers=plain) == 0
        polled = {**plain, "If-None-Match": etag}
        assert _trips_for(client, trips, path, headers=polled) == 0
        assert client.get(path, headers=polled).status_code == 304
        assert _connections_in_use(database) == 0
        # With credentials the route answers (the key is checked), as before.
        key = {**polled, "Authorization": "Bearer lma_1_not-a-key"}
        assert _trips_for(client, trips, path, headers=key) >= 1


def test_health_reads_the_worker_lag_in_two_trips(
    own_sessions: tuple[TestClient, Database], trips: list[int]
) -> None:
    """/health shows the conclusions worker's lag (issue 23): the session and its one query,
    each a trip to the thread pool; nothing more, and no connection left checked out."""
    client, database = own_sessions
    assert _trips_for(client, trips, "/health") == 2
    assert _connections_in_use(database) == 0


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/outcomes", {}, 200),  # a plain ``def`` route
        ("/v1/outcomes/nothing/pooled", {}, 404),  # the use case raises
        ("/v1/pooled", {"Authorization": "Bearer lma_1_not-a-key"}, 401),  # the key lookup
        ("/v1/versions", {}, 200),
    ],
)
def test_the_session_is_ended_on_every_path(
    own_sessions: tuple[TestClient, Database], path: str, headers: dict[str, str], status: int
) -> None:
    client, database = own_sessions
    assert client.get(path, headers=headers).status_code == status
    assert _connections_in_use(database) == 0
