"""A local webhook receiver (http.server on 127.0.0.1), a compressed clock, and a database
where transactions commit, for the delivery tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from standardwebhooks import Webhook as Verifier

from service.db.engine import Database
from service.delivery.worker import DeliveryWorker
from service.main import create_app
from service.settings import Settings
from service.usecases.studies.outbox import on_commit
from tests.api.studies_support import committed_key
from tests.support.databases import migrated_database


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    def verify(self, secret: str) -> dict[str, Any]:
        """What a receiver does: standardwebhooks' own verification (raises when it fails)."""
        verified: dict[str, Any] = Verifier(secret).verify(self.body, self.headers)
        return verified


Answer = tuple[int, dict[str, str], float]  # status, headers, seconds to wait first


@dataclass
class Receiver:
    """Records every request; ``answer(request) -> (status, headers, delay)`` decides replies."""

    answer: Callable[[Received], Answer] = lambda _: (200, {}, 0.0)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ids(self, path: str | None = None) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.received if path in (None, r.path)]


@contextmanager
def running_receiver(receiver: Receiver | None = None) -> Iterator[Receiver]:
    receiver = receiver or Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the
        # body back until the sender's delayed ACK (40 ms) on a kept-alive connection.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            got = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
            with receiver.lock:
                receiver.received.append(got)
            status, headers, delay = receiver.answer(got)
            if delay:
                threading.Event().wait(delay)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender timed out and left, as it should

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    # A short poll interval: shutdown() waits for one, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class FakeClock:
    """A clock the test moves: compressed time for retry schedules."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class World:
    """A committed database, an app on it (no in-API delivery) and keys."""

    settings: Settings
    client: TestClient
    admin: dict[str, str]
    database: Database
    workers: list[DeliveryWorker] = field(default_factory=list)

    def worker(self, **kwargs: Any) -> DeliveryWorker:
        """A delivery worker on this database, closed (its kept-alive connections) at the end."""
        worker = DeliveryWorker(self.database, self.settings, **kwargs)
        self.workers.append(worker)
        return worker


def delivery_settings(base: Settings, **overrides: Any) -> Settings:
    values = {
        "database_url": base.database_url,
        "webhooks_deliver_in_api": False,
        "conclusions_in_api": False,
        "webhooks_allow_private_targets": True,
        "webhooks_timeout_seconds": 2.0,
        "webhooks_poll_seconds": 0.05,
        **overrides,
    }
    return Settings(**values)


# A fresh, migrated database where transactions really commit: a copy of the run's template,
# dropped afterwards (in the background on PostgreSQL).
committed_database = migrated_database


@contextmanager
def committed_world(backend: str, tmp_path: Path, **overrides: Any) -> Iterator[World]:
    with committed_database(backend, tmp_path) as url:
        settings = delivery_settings(Settings(database_url=url), **overrides)
        admin = {"Authorization": f"Bearer {committed_key(settings, ['admin'], name='ops')}"}
        database = Database.from_settings(settings)
        workers: list[DeliveryWorker] = []
        app = create_app(settings)
        # The conclusions worker, run by the committing thread right after each write commits:
        # a write's events are in the outbox when its request returns.
        undo = on_commit(lambda: app.state.conclusions.drain() and None)
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                yield World(settings, client, admin, database, workers)
        finally:
            undo()
            for worker in workers:
                worker.close()
            database.dispose()


def subscribe(world: World, url: str, types: list[str] | None = None) -> dict[str, Any]:
    body = {"url": url, "event_types": types or ["study.submitted"]}
    response = world.client.post("/v1/webhooks", json=body, headers=world.admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
