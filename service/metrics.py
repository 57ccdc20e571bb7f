"""The Prometheus metrics the service exports on ``GET /metrics`` (README "Operating it").

Defined once, here, below every layer, so that the API, the pooled cache, the delivery worker
and the workers of other packages can feed them without importing each other. Names follow
the Prometheus naming guide (prometheus.io/docs/practices/naming): a ``lma_`` prefix, base
units (seconds), ``_total`` for counters.

Several processes (``uvicorn --workers N``): with ``PROMETHEUS_MULTIPROC_DIR`` in the
environment when the process starts, prometheus-client keeps each process's samples in files
there (its "multiprocess mode", prometheus.github.io/client_python/multiprocess/), and a scrape
answered by any worker sums them: counters and histograms add up; each gauge says how in its
``multiprocess_mode``. Without it, each process counts its own, as before.

Gauges read from the database (the :class:`ScrapeGauge` ones) are not prometheus-client gauges: each
worker would store the same value and a sum would count it N times. The process answering the
scrape computes them once (a collector, :mod:`service.usecases.operations.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram, values

# prometheus-client chooses where values live when it is imported, from the environment
# (prometheus_client/values.py, get_value_class): True when they are in PROMETHEUS_MULTIPROC_DIR.
MULTIPROCESS: bool = values.ValueClass is not values.MutexValue

HTTP_REQUESTS = Counter(
    "lma_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "lma_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# Each process has pools of its own: "livesum" reports the service's connections to the
# database (what counts against PostgreSQL's max_connections), summed over the workers that
# are alive; a worker that exits gracefully removes its share (mark_process_dead).
DB_POOL = Gauge(
    "lma_db_pool_connections",
    "Database connections, by engine (read, write) and state, summed over the processes.",
    ["engine", "state"],
    multiprocess_mode="livesum",
)
WEBHOOK_ATTEMPTS = Counter(
    "lma_webhook_attempts",
    "Webhook delivery attempts, by result: delivered, failed, deferred (Retry-After).",
    ["result"],
)
WEBHOOK_GIVE_UPS = Counter(
    "lma_webhook_give_ups", "Webhook deliveries given up after the last scheduled attempt."
)
CACHE_LOOKUPS = Counter(
    "lma_pooled_cache_lookups", "Pooled-answer cache lookups, by result: hit or miss.", ["result"]
)


@dataclass(frozen=True, slots=True)
class ScrapeGauge:
    """A gauge whose value is read from the database when Prometheus scrapes."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()


WEBHOOK_QUEUE = ScrapeGauge(
    "lma_webhook_deliveries_pending", "Webhook deliveries waiting to be delivered or given up."
)
WORKER_LAG_SECONDS = ScrapeGauge(
    "lma_worker_lag_seconds",
    "Age of the oldest committed event a worker has not handled yet (0: caught up).",
    ("worker",),
)
OUTBOX_PENDING = ScrapeGauge(
    "lma_outbox_pending_events", "Committed events a worker has not handled yet.", ("worker",)
)
