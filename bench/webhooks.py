"""Webhook benchmark: event-to-delivery latency and deliveries per second per worker.

Run ``python -m bench.webhooks`` (PostgreSQL too when ``BENCH_POSTGRES_URL`` names a server).
For each database, fresh: a local receiver (http.server on 127.0.0.1) records when each
delivery arrives.

- Latency: the app in-process with its own delivery thread (as ``make run`` delivers), one
  endpoint subscribed to ``study.submitted``; studies are POSTed one at a time, and each
  latency is the delivery's arrival minus the moment the POST's answer came back (the write
  had committed by then), so it can be slightly negative.
- Throughput: ``events x endpoints`` deliveries queued at once, then one
  :class:`DeliveryWorker` (``WEBHOOKS_CONCURRENCY`` threads) runs until all have arrived.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient

from bench.server import postgres_database, postgres_reachable, sqlite_database
from bench.studies import StudyFactory
from bench.timing import fmt_seconds, markdown_table, percentile
from service.db.engine import Database
from service.db.migrate import upgrade_to_head
from service.delivery.worker import DeliveryWorker
from service.main import create_app
from service.settings import Settings
from service.usecases.operations.keys import create_api_key

LATENCY_SAMPLES = int(os.environ.get("BENCH_WEBHOOK_SAMPLES", "30"))
EVENTS, ENDPOINTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "200")), 5
Log = Callable[[str], None]


@dataclass
class Arrivals:
    times: dict[tuple[str, str], float]
    lock: threading.Lock

    def count(self) -> int:
        with self.lock:
            return len(self.times)


@contextmanager
def receiver() -> Iterator[tuple[str, Arrivals]]:
    arrivals = Arrivals({}, threading.Lock())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            with arrivals.lock:
                arrivals.times.setdefault(
                    (self.path, self.headers["webhook-id"]), time.perf_counter()
                )
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", arrivals
    finally:
        server.shutdown()
        server.server_close()


def _settings(url: str, **overrides: Any) -> Settings:
    return Settings(
        database_url=url, webhooks_allow_private_targets=True, log_level="WARNING", **overrides
    )


def _admin(settings: Settings, name: str) -> dict[str, str]:
    database = Database.from_settings(settings)
    try:
        with database.session(write=True) as session:
            key = create_api_key(session, name=name, scopes=["admin"]).plaintext
    finally:
        database.dispose()
    return {"Authorization": f"Bearer {key}"}


def _subscribe(client: TestClient, headers: dict[str, str], url: str) -> None:
    body = {"url": url, "event_types": ["study.submitted"]}
    response = client.post("/v1/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text


def _wait(arrivals: Arrivals, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while arrivals.count() < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {arrivals.count()} of {count} deliveries arrived")
        time.sleep(0.001)


def latency(url: str) -> dict[str, float]:
    """In-process delivery: p50 and p99 from the write's answer to the delivery's arrival."""
    settings = _settings(url, webhooks_deliver_in_api=True)
    headers = _admin(settings, "bench-latency")
    factory = StudyFactory(seed=15, prefix="wh")
    samples = []
    with receiver() as (base, arrivals), TestClient(create_app(settings)) as client:
        _subscribe(client, headers, f"{base}/latency")
        for n in range(1, LATENCY_SAMPLES + 1):
            response = client.post("/v1/studies", json=factory.study(), headers=headers)
            answered = time.perf_counter()
            assert response.status_code == 201, response.text
            _wait(arrivals, n)
            with arrivals.lock:
                arrived = max(arrivals.times.values())
            samples.append(arrived - answered)
    return {"p50": percentile(samples, 50), "p99": percentile(samples, 99), "n": len(samples)}


def throughput(url: str) -> dict[str, float]:
    """Deliveries per second of one worker draining ``EVENTS x ENDPOINTS`` queued deliveries."""
    settings = _settings(url, webhooks_deliver_in_api=False)
    headers = _admin(settings, "bench-throughput")
    factory = StudyFactory(seed=16, prefix="tp")
    with receiver() as (base, arrivals), TestClient(create_app(settings)) as client:
        for endpoint in range(ENDPOINTS):
            _subscribe(client, headers, f"{base}/{endpoint}")
        batch = {"studies": factory.batch(EVENTS)}
        assert client.post("/v1/studies/batch", json=batch, headers=headers).status_code == 201
        database = Database.from_settings(settings)
        worker = DeliveryWorker(database, settings)
        stop = threading.Event()
        started = time.perf_counter()
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            _wait(arrivals, EVENTS * ENDPOINTS, timeout=300)
            elapsed = time.perf_counter() - started
        finally:
            stop.set()
            thread.join(30)
            worker.close()
            database.dispose()
    return {
        "per_s": EVENTS * ENDPOINTS / elapsed,
        "n": EVENTS * ENDPOINTS,
        "threads": settings.webhooks_concurrency,
    }


def _backends(postgres_url: str | None) -> list[tuple[str, AbstractContextManager[str]]]:
    chosen: list[tuple[str, AbstractContextManager[str]]] = [("SQLite", sqlite_database())]
    if postgres_url and not postgres_reachable(postgres_url):
        chosen.append(("PostgreSQL", postgres_database(postgres_url)))
    return chosen


def run_webhooks(postgres_url: str | None, log: Log = print) -> list[tuple[str, dict[str, Any]]]:
    """Both figures for each database."""
    rows = []
    for name, database in _backends(postgres_url):
        with database as url:
            upgrade_to_head(url)
            log(f"webhooks: {name}: latency")
            figures: dict[str, Any] = {"latency": latency(url)}
            log(f"webhooks: {name}: throughput")
            figures["throughput"] = throughput(url)
        rows.append((name, figures))
    return rows


def render(rows: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """The Markdown table, with the issue's targets (p50 <= 1 s; >= 200 deliveries/s)."""
    table = []
    for name, figures in rows:
        lat, tp = figures["latency"], figures["throughput"]
        table.append(
            (
                name,
                f"{fmt_seconds(lat['p50'])} / {fmt_seconds(lat['p99'])} (n = {lat['n']})"
                + (" (met)" if lat["p50"] <= 1.0 else " (MISSED)"),
                f"{tp['per_s']:,.0f} (n = {tp['n']}, {tp['threads']} threads)"
                + (" (met)" if tp["per_s"] >= 200 else " (MISSED)"),
            )
        )
    headers = ("database", "event to delivery, in-process p50 / p99", "deliveries/s, one worker")
    return markdown_table(headers, table)


def main() -> int:
    print(render(run_webhooks(os.environ.get("BENCH_POSTGRES_URL") or None)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
