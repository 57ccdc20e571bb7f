"""The Prometheus metrics the service exports on ``GET /metrics`` (README "Operating it").

Defined once, here, below every layer, so that the API, the pooled cache, the delivery worker
and the workers of other packages can feed them without importing each other. Names follow
the Prometheus naming guide (prometheus.io/docs/practices/naming): a ``lma_`` prefix, base
units (seconds), ``_total`` for counters. Each process counts its own (as the rate limit
does): with N uvicorn workers, scrape each one or sum them.

Metrics for other packages to feed:

- :data:`WORKER_LAG_SECONDS`: how far behind the newest committed event a worker is, in
  seconds (0 when it has caught up), by worker (``conclusions``, ``webhooks``...).
- :data:`OUTBOX_PENDING`: events committed but not yet handled, by worker.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
DB_POOL = Gauge(
    "lma_db_pool_connections",
    "Database connections of this process, by engine (read, write) and state.",
    ["engine", "state"],
)
WEBHOOK_QUEUE = Gauge(
    "lma_webhook_deliveries_pending", "Webhook deliveries waiting to be delivered or given up."
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
WORKER_LAG_SECONDS = Gauge(
    "lma_worker_lag_seconds",
    "Age of the oldest committed event a worker has not handled yet (0: caught up).",
    ["worker"],
)
OUTBOX_PENDING = Gauge(
    "lma_outbox_pending_events", "Committed events a worker has not handled yet.", ["worker"]
)
