"""The delivery loop: claim endpoints, fan their events out, send them in order, record.

Why not procrastinate: it is a good PostgreSQL task queue (its fetch query is the model for
the claim here), but it runs on PostgreSQL only, and the embedded SQLite default must deliver
too; and per-endpoint ordering needs a claim per endpoint, not per task. The loop is small:

1. claim up to ``concurrency`` due endpoints with a lease (see
   :class:`service.db.repositories.webhooks.LeaseRepository`);
2. per endpoint, in one thread: queue the new events it subscribed to, then send its pending
   deliveries oldest event first over a kept-alive connection, recording them
   ``RECORD_EVERY`` at a time in a short transaction that also renews the lease (a failure
   at once); stop at the first failure (the endpoint waits for its retry);
3. give the lease back. A worker killed in between leaves its lease to expire, and the next
   worker sends the unrecorded deliveries again, with the same ``webhook-id``.

The loop sleeps between claims until woken: by a thread that finished an endpoint, by
PostgreSQL's ``NOTIFY`` when events commit (see :mod:`service.db.notifications`), or after
``WEBHOOKS_POLL_SECONDS`` (retries fall due without any event, and SQLite has no NOTIFY).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy.orm import Session

from service.db.engine import Database
from service.db.models import Webhook
from service.db.notifications import EventListener
from service.db.repositories.webhooks import LeaseRepository
from service.delivery.sender import Destination, Outcome, destination, post, signed_headers
from service.delivery.targets import (
    Resolver,
    UnsafeTargetError,
    resolve_target,
    system_resolver,
)
from service.settings import Settings
from service.usecases.events import deliveries
from service.usecases.events.envelope import body_of
from service.usecases.events.secret_box import secret_box

logger = logging.getLogger(__name__)
BATCH = 100
# Give an endpoint back after this many deliveries, so that one busy endpoint cannot starve
# the others.
MAX_PER_CLAIM = 500
PRUNE_EVERY = timedelta(hours=1)
# Successes recorded per transaction: a crash resends at most this many (receivers dedupe).
RECORD_EVERY = 20


def _keep_alive_client(concurrency: int) -> httpx.Client:
    """One connection pool for the worker's threads: connections to an endpoint are kept
    alive between its deliveries (a new TCP and TLS handshake each time cost more than the
    request).

    TCP_NODELAY: a request goes out in two writes (headers, then body); with Nagle's
    algorithm the body would wait for the receiver's delayed ACK of the headers.
    """
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=4 * concurrency)
    no_delay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    transport = httpx.HTTPTransport(limits=limits, socket_options=no_delay)
    return httpx.Client(follow_redirects=False, trust_env=False, transport=transport)


@dataclass(frozen=True, slots=True)
class _Endpoint:
    url: str
    secrets: list[str]


_Attempt = tuple[deliveries.Due, Outcome]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DeliveryWorker:
    """One worker (a process may run one): its name is its lease owner."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        clock: Clock | None = None,
        resolver: Resolver = system_resolver,
        name: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock or SystemClock()
        self.resolver = resolver
        self.name = name or f"worker-{uuid.uuid4().hex[:12]}"
        # Made at the first delivery (:meth:`_http`): its TLS context cost every API process
        # ~30 ms at start (each test's app, too), and most never deliver.
        self._client = client
        self._client_lock = threading.Lock()
        self._lease = timedelta(seconds=settings.webhooks_lease_seconds)
        self._max_retry_after = timedelta(seconds=settings.webhooks_max_retry_after_seconds)
        self._box = secret_box(settings)
        self._failing = False
        self._stopping = threading.Event()  # set by run()'s stop: finish the attempt in hand
        self._wake = threading.Event()  # set when there may be something to claim
        # Every attempt is recorded in the delivery log; httpx's line per request is noise.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()

    def _http(self) -> httpx.Client:
        """The keep-alive client of the worker's threads, made when first needed."""
        with self._client_lock:
            if self._client is None:
                self._client = _keep_alive_client(self.settings.webhooks_concurrency)
            return self._client

    def wake(self) -> None:
        """Claim again now (new events committed, a thread is free, or stop was asked)."""
        self._wake.set()

    def claim(self, limit: int) -> list[int]:
        """Lease up to ``limit`` due endpoints; a read first, so that idling writes nothing."""
        now = self.clock.now()
        with self.database.session() as session:
            if not LeaseRepository(session).any_due(now):
                return []
        with self.database.session(write=True) as session:
            return LeaseRepository(session).claim(self.name, now, now + self._lease, limit=limit)

    def run_once(self) -> int:
        """Claim and serve due endpoints one after another; how many attempts were made."""
        return sum(
            self.serve(webhook_id) for webhook_id in self.claim(self.settings.webhooks_concurrency)
        )

    def serve(self, webhook_id: int) -> int:
        """Deliver what the leased endpoint has pending, in order; then give the lease back."""
        attempts = 0
        try:
            self._fan_out(webhook_id)
            while attempts < MAX_PER_CLAIM:
                due = self._due(webhook_id)
                sent, carry_on = self._send_batch(webhook_id, due)
                attempts += sent
                if not carry_on or len(due[1]) < BATCH:
                    break
        finally:
            self._release(webhook_id)
        return attempts

    def _held(self, session: Session, webhook_id: int) -> Webhook | None:
        now = self.clock.now()
        return LeaseRepository(session).held(webhook_id, self.name, renew_until=now + self._lease)

    def _fan_out(self, webhook_id: int) -> None:
        with self.database.session(write=True) as session:
            webhook = self._held(session, webhook_id)
            if webhook is not None:
                deliveries.fan_out(session, webhook, self.clock.now())

    def _due(self, webhook_id: int) -> tuple[_Endpoint | None, list[deliveries.Due]]:
        with self.database.session() as session:
            webhook = session.get(Webhook, webhook_id)
            if webhook is None or not webhook.enabled or webhook.lease_owner != self.name:
                return None, []
            secrets = deliveries.active_secrets(webhook, self.clock.now(), self._box)
            return _Endpoint(webhook.url, secrets), deliveries.due(session, webhook_id, limit=BATCH)

    def _send_batch(
        self, webhook_id: int, due: tuple[_Endpoint | None, list[deliveries.Due]]
    ) -> tuple[int, bool]:
        endpoint, batch = due
        if endpoint is None:
            return 0, False
        target = self._target(endpoint.url)
        records: list[_Attempt] = []
        flushed = time.monotonic()
        for sent, item in enumerate(batch, 1):
            if self._stopping.is_set():  # shutting down: record what was sent, stop here
                if records:
                    self._record(webhook_id, records)
                return sent - 1, False
            outcome = self._attempt(target, endpoint.secrets, item)
            records.append((item, outcome))
            # Well within the lease, and a failure at once (it decides the endpoint's retry).
            if (
                not outcome.delivered
                or len(records) >= RECORD_EVERY
                or self._lease_half_gone(flushed)
            ):
                if not self._record(webhook_id, records):
                    return sent, False
                records, flushed = [], time.monotonic()
        return len(batch), self._record(webhook_id, records) if records else True

    def _lease_half_gone(self, since: float) -> bool:
        return time.monotonic() - since > self._lease.total_seconds() / 2

    def _record(self, webhook_id: int, records: list[_Attempt]) -> bool:
        """Record ``records`` in one transaction, if the lease is still ours; carry on?"""
        with self.database.session(write=True) as session:
            held = self._held(session, webhook_id)
            if held is None:
                logger.warning("lost the lease of webhook %s", webhook_id)
                return False
            return deliveries.record_batch(
                session, held, records, self.clock.now(), max_retry_after=self._max_retry_after
            )

    def _target(self, url: str) -> Destination | str:
        """The checked address to connect to, once per batch; or why it is refused.

        Requests go to this address (pinned), so a name re-resolved later cannot redirect them.
        """
        settings = self.settings
        try:
            target = resolve_target(
                url,
                allow_http=settings.webhooks_allow_http,
                allow_private=settings.webhooks_allow_private_targets,
                resolver=self.resolver,
            )
        except UnsafeTargetError as refused:
            return str(refused)
        return destination(target, settings.webhooks_timeout_seconds)

    def _attempt(self, to: Destination | str, secrets: list[str], item: deliveries.Due) -> Outcome:
        if isinstance(to, str):
            return deliveries.refusal(to)
        body = body_of(item.payload)
        # The wall clock, not the scheduling clock: receivers reject timestamps 5 min off.
        headers = signed_headers(secrets, str(item.payload["id"]), datetime.now(UTC), body)
        return post(self._http(), to, headers, body)

    def _release(self, webhook_id: int) -> None:
        with self.database.session(write=True) as session:
            LeaseRepository(session).release(webhook_id, self.name)

    def run(self, stop: threading.Event) -> None:
        """Serve due endpoints with ``concurrency`` threads until ``stop`` is set."""
        self._stopping = stop
        size = self.settings.webhooks_concurrency
        busy: set[int] = set()
        lock = threading.Lock()

        def serve(webhook_id: int) -> None:
            try:
                self.serve(webhook_id)
            except Exception:
                logger.exception("delivery to webhook %s failed", webhook_id)
            finally:
                with lock:
                    busy.discard(webhook_id)
                self.wake()  # a thread is free: claim the next endpoint now, not at the poll

        EventListener.start_for(self.database.url, self.wake, stop)
        pruned_at: datetime | None = None
        with ThreadPoolExecutor(max_workers=size, thread_name_prefix="webhooks") as pool:
            while not stop.is_set():
                self._wake.clear()  # before claiming: a wake from now on is not lost
                if pruned_at is None or self.clock.now() - pruned_at >= PRUNE_EVERY:
                    pruned_at = self.clock.now()
                    self._prune_quietly()
                with lock:
                    free = size - len(busy)
                claimed = self._claim_quietly(free) if free else []
                with lock:
                    busy.update(claimed)
                for webhook_id in claimed:
                    pool.submit(serve, webhook_id)
                if not claimed:
                    self._wake.wait(self.settings.webhooks_poll_seconds)
        # The listener, if any, sees ``stop`` and ends by itself: not waited for here.

    def prune(self) -> int:
        """Delete events past their retention (the workers do it once an hour)."""
        with self.database.session(write=True) as session:
            return deliveries.prune(session, self.clock.now())

    def _prune_quietly(self) -> None:
        try:
            self.prune()
        except Exception:
            logger.warning("could not prune old events", exc_info=True)

    def _claim_quietly(self, limit: int) -> list[int]:
        try:
            claimed = self.claim(limit)
        except Exception:  # the database may be restarting: try again at the next poll
            if not self._failing:  # once per outage, not at every poll
                logger.warning("could not claim webhooks; retrying quietly", exc_info=True)
            self._failing = True
            return []
        if self._failing:
            logger.warning("claiming webhooks again")
        self._failing = False
        return claimed
