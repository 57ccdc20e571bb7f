"""GET /metrics (parsed with prometheus_client's own text parser), the JSON access log, and SQL
in the log at LOG_LEVEL=DEBUG (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.logs import ACCESS_LOGGER, configure_logging
from service.main import create_app
from service.settings import Settings
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import trial

pytestmark = pytest.mark.db


def _scrape(
    client: TestClient, headers: dict[str, str]
) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def _value(samples: list[tuple[dict[str, str], float]], **labels: str) -> float:
    return sum(v for got, v in samples if all(got.get(k) == w for k, w in labels.items()))


def test_metrics_need_the_admin_scope(client: TestClient, make_key: MakeKey, auth: Auth) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth(make_key(["submit"]))).status_code == 403


def test_metrics_count_requests_by_route_template_and_status(
    client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    admin = auth(make_key(["admin"]))
    before = _scrape(client, admin)
    route = {"route": "/v1/studies/{study_id}", "method": "GET"}
    was_404 = _value(before.get("lma_http_requests_total", []), status="404", **route)
    for study_id in (987654, 987655, 987656):
        assert client.get(f"/v1/studies/{study_id}").status_code == 404
    client.post("/v1/studies", json=trial(0.2), headers=auth(make_key(["submit"])))
    for _ in range(2):  # a miss, then a hit
        assert client.get("/v1/outcomes/empowerment/pooled").status_code == 200
    after = _scrape(client, admin)
    counted = after["lma_http_requests_total"]
    assert _value(counted, status="404", **route) == was_404 + 3
    assert not [labels for labels, _ in counted if "987654" in labels["route"]]
    assert _value(after["lma_http_request_duration_seconds_count"], status="404", **route) >= 3
    assert _value(after["lma_pooled_cache_lookups_total"], result="hit") >= 1
    assert _value(after["lma_pooled_cache_lookups_total"], result="miss") >= 1
    assert after["lma_webhook_deliveries_pending"] == [({}, 0.0)]


def test_each_request_logs_one_json_line_without_the_key(
    client: TestClient, make_key: MakeKey, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    key = make_key(["submit"])
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        logging.getLogger(ACCESS_LOGGER).addHandler(caplog.handler)
        try:
            response = client.get(
                "/v1/studies/424242", headers={**auth(key), "X-Request-ID": "probe-req-0001"}
            )
        finally:
            logging.getLogger(ACCESS_LOGGER).removeHandler(caplog.handler)
    assert response.status_code == 404
    assert response.json()["request_id"] == "probe-req-0001"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]
    [line] = [line for line in lines if line["request_id"] == "probe-req-0001"]
    assert line["route"] == "/v1/studies/{study_id}"
    assert (line["method"], line["status"]) == ("GET", 404)
    assert line["key"].startswith("test-key-")
    assert line["duration_ms"] >= 0
    assert key not in json.dumps(lines)


def test_debug_level_shows_sql(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    debug = settings.model_copy(update={"log_level": "DEBUG"})
    try:
        with caplog.at_level(logging.DEBUG), TestClient(create_app(debug)) as client:
            assert client.get("/v1/studies").status_code == 200
    finally:
        configure_logging("INFO")
    sql = [r for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert any("SELECT" in r.getMessage() for r in sql)


def test_metrics_show_the_conclusions_backlog(
    app: FastAPI, client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    """A committed write the worker has not concluded is pending, with its age as the lag;
    once the worker drains, both are back to 0 (issue 23: lag exported)."""
    admin = auth(make_key(["admin"]))
    app.state.conclude_inline = False
    posted = client.post("/v1/studies", json=trial(0.3), headers=auth(make_key(["submit"])))
    assert posted.status_code == 201, posted.text
    waiting = _scrape(client, admin)
    assert _value(waiting["lma_outbox_pending_events"], worker="conclusions") >= 1
    assert _value(waiting["lma_worker_lag_seconds"], worker="conclusions") >= 0
    app.state.conclusions.drain()
    caught_up = _scrape(client, admin)
    assert _value(caught_up["lma_outbox_pending_events"], worker="conclusions") == 0
    assert _value(caught_up["lma_worker_lag_seconds"], worker="conclusions") == 0


def test_one_process_exports_its_own_registry(
    client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    """Without PROMETHEUS_MULTIPROC_DIR (``make run``): this process's registry as before, its
    CPU and memory collectors included, and the database's gauges once."""
    samples = _scrape(client, auth(make_key(["admin"])))
    assert "process_cpu_seconds_total" in samples
    assert "python_gc_collections_total" in samples
    assert len(samples["lma_outbox_pending_events"]) == 1
    assert _value(samples["lma_db_pool_connections"], engine="read", state="size") >= 1


def test_the_multiprocess_directory_must_come_from_the_environment(
    settings: Settings, tmp_path: Path
) -> None:
    """prometheus-client reads PROMETHEUS_MULTIPROC_DIR when it is imported: a setting it did
    not see would make every scrape merge files that no process writes."""
    given = settings.model_copy(update={"prometheus_multiproc_dir": tmp_path})
    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR"):
        create_app(given)
