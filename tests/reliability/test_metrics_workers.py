"""``GET /metrics`` from a server with two uvicorn workers (issue 25).

Each scrape reaches one worker. Without ``PROMETHEUS_MULTIPROC_DIR`` each worker counted its
own requests, so the request counters jumped between scrapes; with it, every scrape sums the
workers' files, whichever worker answers. The database's gauges come once, not once a worker.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from service.settings import Settings
from tests.reliability.servers import Server, fresh_database, migrated_with_keys

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.slow]

REQUESTS = 40
SCRAPES = 6
STUDY = {"route": "/v1/studies/{study_id}", "method": "GET", "status": "404"}
Samples = list[tuple[str, dict[str, str], float]]


def _scrape(base_url: str, key: str) -> Samples:
    # httpx.get opens a new connection each time, so the workers share the requests.
    response = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def _total(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        value
        for got, got_labels, value in samples
        if got == name and all(got_labels.get(k) == v for k, v in labels.items())
    )


def _served_by_each_worker(directory: Path) -> Counter[str]:
    """The study requests each worker counted, from its own file (pid in the name)."""
    served: Counter[str] = Counter()
    for file in directory.glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(file)]):
            for sample in family.samples:
                if sample.name == "lma_http_requests_total" and sample.labels == STUDY:
                    served[file.stem.removeprefix("counter_")] += int(sample.value)
    return served


def _wait_for_count(base_url: str, key: str) -> None:
    # The last request is counted just after its answer went out: wait for it, with a deadline.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _total(_scrape(base_url, key), "lma_http_requests_total", **STUDY) >= REQUESTS:
            return
        time.sleep(0.1)
    raise AssertionError("the study requests were never all counted")


def test_every_scrape_sums_both_workers(backend: str, tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    with fresh_database(backend, tmp_path) as url:
        key = migrated_with_keys(url, {"ops": "admin"})["ops"]
        environment = {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
        server = Server(url, tmp_path / "server.log", workers=2, environment=environment)
        try:
            server.wait_until_ready()
            for study_id in range(REQUESTS):
                assert httpx.get(f"{server.base_url}/v1/studies/{900000 + study_id}").is_error
            _wait_for_count(server.base_url, key)
            scrapes = [_scrape(server.base_url, key) for _ in range(SCRAPES)]
            served = _served_by_each_worker(directory)
        finally:
            server.stop()
        live_after_stop = sorted(file.name for file in directory.glob("gauge_livesum_*.db"))
    assert len(served) == 2, served  # both workers answered some
    assert min(served.values()) > 0, served
    pool_size = 5 if backend == "sqlite" else Settings().database_pool_size
    metrics_route = {"route": "/metrics", "method": "GET", "status": "200"}
    seen_scrapes = []
    for samples in scrapes:
        assert _total(samples, "lma_http_requests_total", **STUDY) == REQUESTS
        assert _total(samples, "lma_http_request_duration_seconds_count", **STUDY) == REQUESTS
        seen_scrapes.append(_total(samples, "lma_http_requests_total", **metrics_route))
        # Both workers' pools, summed ("livesum").
        size = _total(samples, "lma_db_pool_connections", engine="read", state="size")
        assert size == 2 * pool_size
        # Read from the database by the worker answering, once: no sample per worker.
        assert [s for s in samples if s[0] == "lma_webhook_deliveries_pending"] == [
            ("lma_webhook_deliveries_pending", {}, 0.0)
        ]
        assert len([s for s in samples if s[0] == "lma_outbox_pending_events"]) == 1
    # Each scrape counts the ones before it (the first wait's included), whoever answered.
    assert seen_scrapes == sorted(seen_scrapes), seen_scrapes
    assert seen_scrapes[-1] >= SCRAPES, seen_scrapes
    assert live_after_stop == [], "a worker that stopped left its pool gauges"
