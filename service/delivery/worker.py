"""The delivery loop: claim endpoints, fan their events out, send them in order, record.

Why not procrastinate: it is a good PostgreSQL task queue (its fetch query is the model for
the claim here), but it runs on PostgreSQL only, and the embedded SQLite default must deliver
too; and per-endpoint ordering needs a claim per endpoint, not per task. The loop is small:

1. claim up to ``concurrency`` due endpoints with a lease (see
   :class:`service.db.repositories.webhooks.LeaseRepository`);
2. per endpoint, in one thread: queue the new events it subscribed to, then send its pending
   deliveries oldest event first, each attempt recorded in its own short transaction that
   also renews the lease; stop at the first failure (the endpoint waits for its retry);
3. give the lease back. A worker killed in between leaves its lease to expire, and the next
   worker sends the unrecorded delivery again, with the same ``webhook-id``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy.orm import Session

from service.db.engine import Database
from service.db.models import Webhook
from service.db.repositories.webhooks import LeaseRepository
from service.delivery.sender import post, signed_headers
from service.delivery.targets import Resolver, UnsafeTargetError, resolve_target, system_resolver
from service.settings import Settings
from service.usecases.events import deliveries
from service.usecases.events.envelope import body_of

logger = logging.getLogger(__name__)
BATCH = 50
# Give an endpoint back after this many deliveries, so that one busy endpoint cannot starve
# the others.
MAX_PER_CLAIM = 500
PRUNE_EVERY = timedelta(hours=1)
RECORD_EVERY = 10


@dataclass(frozen=True, slots=True)
class _Endpoint:
    url: str
    secrets: list[str]


_Record = Callable[[Session, Webhook], bool]


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
        self._client = client or httpx.Client(follow_redirects=False, trust_env=False)
        self._lease = timedelta(seconds=settings.webhooks_lease_seconds)
        self._failing = False
        self._stopping = threading.Event()  # set by run()'s stop: finish the attempt in hand
        # Every attempt is recorded in the delivery log; httpx's line per request is noise.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    def close(self) -> None:
        self._client.close()

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
            secrets = deliveries.active_secrets(webhook, self.clock.now())
            return _Endpoint(webhook.url, secrets), deliveries.due(session, webhook_id, limit=BATCH)

    def _send_batch(
        self, webhook_id: int, due: tuple[_Endpoint | None, list[deliveries.Due]]
    ) -> tuple[int, bool]:
        endpoint, batch = due
        if endpoint is None:
            return 0, False
        records: list[_Record] = []
        flushed = time.monotonic()
        for sent, item in enumerate(batch, 1):
            if self._stopping.is_set():  # shutting down: record what was sent, stop here
                if records:
                    self._record(webhook_id, records)
                return sent - 1, False
            delivered, record = self._attempt(endpoint.url, endpoint.secrets, item)
            records.append(record)
            # Successes are recorded RECORD_EVERY at a time (a crash resends at most that many,
            # which receivers dedupe), and well within the lease; a failure at once.
            if not delivered or len(records) >= RECORD_EVERY or self._lease_half_gone(flushed):
                if not self._record(webhook_id, records):
                    return sent, False
                records, flushed = [], time.monotonic()
        return len(batch), self._record(webhook_id, records) if records else True

    def _lease_half_gone(self, since: float) -> bool:
        return time.monotonic() - since > self._lease.total_seconds() / 2

    def _record(self, webhook_id: int, records: list[_Record]) -> bool:
        """Apply ``records`` in one transaction, if the lease is still ours; carry on?"""
        with self.database.session(write=True) as session:
            held = self._held(session, webhook_id)
            if held is None:
                logger.warning("lost the lease of webhook %s", webhook_id)
                return False
            results = [record(session, held) for record in records]  # every one, in order
            return all(results)

    def _attempt(self, url: str, secrets: list[str], item: deliveries.Due) -> tuple[bool, _Record]:
        settings = self.settings
        try:
            target = resolve_target(
                url,
                allow_http=settings.webhooks_allow_http,
                allow_private=settings.webhooks_allow_private_targets,
                resolver=self.resolver,
            )
        except UnsafeTargetError as refused:
            reason = str(refused)
            return False, lambda s, w: deliveries.record_refusal(
                s, w, item, reason, self.clock.now()
            )
        body = body_of(item.payload)
        # The wall clock, not the scheduling clock: receivers reject timestamps 5 min off.
        headers = signed_headers(secrets, str(item.payload["id"]), datetime.now(UTC), body)
        outcome = post(self._client, target, headers, body, settings.webhooks_timeout_seconds)
        return outcome.delivered, lambda s, w: deliveries.record_attempt(
            s, w, item, outcome, self.clock.now()
        )

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

        pruned_at: datetime | None = None
        with ThreadPoolExecutor(max_workers=size, thread_name_prefix="webhooks") as pool:
            while not stop.is_set():
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
                    stop.wait(self.settings.webhooks_poll_seconds)

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
