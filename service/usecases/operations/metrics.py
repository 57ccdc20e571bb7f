"""What ``GET /metrics`` reads at scrape time: the connection pools, the webhook queue and the
conclusions worker's backlog.

Counters (requests, attempts, cache lookups) are fed where things happen; these gauges are
states, read when Prometheus asks (its "collect at scrape" advice for values the process can
read cheaply).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from service.db.engine import Database
from service.db.repositories.conclusions import ConclusionRepository
from service.db.repositories.webhooks import LeaseRepository
from service.metrics import DB_POOL, OUTBOX_PENDING, WEBHOOK_QUEUE, WORKER_LAG_SECONDS


def _pool_gauges(name: str, engine: Engine) -> None:
    pool = engine.pool
    if isinstance(pool, QueuePool):  # SQLite files use one connection per thread
        DB_POOL.labels(engine=name, state="checked_out").set(pool.checkedout())
        DB_POOL.labels(engine=name, state="idle").set(pool.checkedin())
        DB_POOL.labels(engine=name, state="size").set(pool.size())


def _conclusions_gauges(session: Session) -> None:
    """Versions committed but not concluded yet, and how long the oldest has waited."""
    backlog = ConclusionRepository(session).backlog()
    OUTBOX_PENDING.labels(worker="conclusions").set(backlog.waiting)
    oldest = backlog.oldest_created_at
    if oldest is not None and oldest.tzinfo is None:  # SQLite returns naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    lag = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    WORKER_LAG_SECONDS.labels(worker="conclusions").set(max(lag, 0.0))


def exposition(database: Database, session: Session) -> bytes:
    """Refresh the scrape-time gauges, then every metric in Prometheus' text format."""
    _pool_gauges("read", database.read_engine)
    if database.write_engine is not database.read_engine:
        _pool_gauges("write", database.write_engine)
    WEBHOOK_QUEUE.set(LeaseRepository(session).pending_count())
    _conclusions_gauges(session)
    return generate_latest(REGISTRY)
