"""What ``GET /metrics`` reads at scrape time: the connection pools and the webhook queue.

Counters (requests, attempts, cache lookups) are fed where things happen; these gauges are
states, read when Prometheus asks (its "collect at scrape" advice for values the process can
read cheaply).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from service.db.engine import Database
from service.db.repositories.webhooks import LeaseRepository
from service.metrics import DB_POOL, WEBHOOK_QUEUE


def _pool_gauges(name: str, engine: Engine) -> None:
    pool = engine.pool
    if isinstance(pool, QueuePool):  # SQLite files use one connection per thread
        DB_POOL.labels(engine=name, state="checked_out").set(pool.checkedout())
        DB_POOL.labels(engine=name, state="idle").set(pool.checkedin())
        DB_POOL.labels(engine=name, state="size").set(pool.size())


def exposition(database: Database) -> bytes:
    """Refresh the scrape-time gauges, then every metric in Prometheus' text format."""
    _pool_gauges("read", database.read_engine)
    if database.write_engine is not database.read_engine:
        _pool_gauges("write", database.write_engine)
    with database.session() as session:
        WEBHOOK_QUEUE.set(LeaseRepository(session).pending_count())
    return generate_latest(REGISTRY)
