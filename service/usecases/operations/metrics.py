"""What ``GET /metrics`` answers: the counters and histograms the processes fed, the connection
pools, and the states read from the database at scrape time (the webhook queue and the
conclusions worker's backlog).

Counters (requests, attempts, cache lookups) are fed where things happen, and so are the pool
gauges (each checkout and checkin), so that every worker's share is current whichever worker
answers the scrape. The database's states are read once per scrape, by the process answering
it (Prometheus' "collect at scrape" advice for values that can be read cheaply), and exported
by a collector of their own: as gauges of every worker they would be summed N times.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from service.db.engine import Database
from service.db.repositories.conclusions import ConclusionRepository
from service.db.repositories.webhooks import LeaseRepository
from service.metrics import (
    DB_POOL,
    MULTIPROCESS,
    OUTBOX_PENDING,
    WEBHOOK_QUEUE,
    WORKER_LAG_SECONDS,
    ScrapeGauge,
)


def _set_pool_gauges(name: str, pool: QueuePool, *, returning: int = 0) -> None:
    DB_POOL.labels(engine=name, state="checked_out").set(pool.checkedout() - returning)
    idle = min(pool.checkedin() + returning, pool.size())  # a full pool closes the overflow
    DB_POOL.labels(engine=name, state="idle").set(idle)
    DB_POOL.labels(engine=name, state="size").set(pool.size())


def _watch_pool(name: str, engine: Engine) -> None:
    pool = engine.pool
    if not isinstance(pool, QueuePool):  # in-memory SQLite opens a connection per session
        return

    @event.listens_for(engine, "checkout")
    def _checked_out(*_: Any) -> None:
        _set_pool_gauges(name, pool)

    @event.listens_for(engine, "checkin")
    def _checked_in(*_: Any) -> None:
        # SQLAlchemy signals a checkin before it puts the connection back in the queue
        # (sqlalchemy/pool/base.py, _ConnectionRecord.checkin): count it as returned already.
        _set_pool_gauges(name, pool, returning=1)

    _set_pool_gauges(name, pool)


def watch_pools(database: Database) -> None:
    """Keep the pool gauges of this process current, from now on."""
    _watch_pool("read", database.read_engine)
    if database.write_engine is not database.read_engine:
        _watch_pool("write", database.write_engine)


def _gauge(spec: ScrapeGauge, samples: Iterable[tuple[tuple[str, ...], float]]) -> Metric:
    family = GaugeMetricFamily(spec.name, spec.documentation, labels=spec.labels)
    for labels, value in samples:
        family.add_metric(labels, value)
    return family


class _DatabaseStates:
    """The gauges read from the database, once, when this process answers a scrape."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def collect(self) -> Iterator[Metric]:
        yield _gauge(WEBHOOK_QUEUE, [((), LeaseRepository(self._session).pending_count())])
        backlog = ConclusionRepository(self._session).backlog()
        oldest = backlog.oldest_created_at
        if oldest is not None and oldest.tzinfo is None:  # SQLite returns naive UTC
            oldest = oldest.replace(tzinfo=UTC)
        lag = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        yield _gauge(WORKER_LAG_SECONDS, [(("conclusions",), max(lag, 0.0))])
        yield _gauge(OUTBOX_PENDING, [(("conclusions",), backlog.waiting)])


class _ThisProcess:
    """Everything registered in this process (prometheus-client's default registry)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition(session: Session, multiprocess_directory: Path | None) -> bytes:
    """Every metric in Prometheus' text format.

    With a ``multiprocess_directory``, the counters, histograms and gauges of every worker
    are merged from their files (prometheus-client's documented recipe: a fresh registry per
    scrape); the process's own collectors (CPU, memory, GC) are then not exported, as that
    recipe says.
    """
    registry = CollectorRegistry()
    if multiprocess_directory is not None:
        MultiProcessCollector(registry, path=str(multiprocess_directory))  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_DatabaseStates(session))
    return generate_latest(registry)


def check_multiprocess_setting(directory: Path | None) -> None:
    """Refuse ``PROMETHEUS_MULTIPROC_DIR`` as a setting that prometheus-client did not see.

    prometheus-client reads it once, from the environment, when it is imported: a value given
    some other way would make every scrape merge files that no process writes.
    """
    if directory is not None and not MULTIPROCESS:
        raise RuntimeError(
            "PROMETHEUS_MULTIPROC_DIR must be in the environment before the service starts"
        )


def forget_this_process(directory: Path | None) -> None:
    """At a worker's graceful exit: drop its share of the "live" gauges (the pools).

    prometheus-client's mark_process_dead, which its docs call from the server's child-exit
    hook; uvicorn has none, so each worker calls it on itself after closing its pools. A worker
    that is killed leaves its share until the directory is emptied at the next start.
    """
    if directory is not None and MULTIPROCESS:
        mark_process_dead(os.getpid(), str(directory))  # type: ignore[no-untyped-call]
