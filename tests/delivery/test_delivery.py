"""Deliveries to a local receiver, verified with standardwebhooks; retries on a compressed
clock (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.delivery import worker as delivery_worker
from service.delivery.schedule import DELAYS_SECONDS
from service.delivery.worker import DeliveryWorker
from tests.api.pooled_support import trial
from tests.delivery.support import (
    Answer,
    FakeClock,
    Received,
    Receiver,
    World,
    committed_world,
    running_receiver,
    subscribe,
)

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend")]


def submit(world: World, count: int = 1) -> list[int]:
    ids = []
    for _ in range(count):
        response = world.client.post("/v1/studies", json=trial(0.3), headers=world.admin)
        assert response.status_code == 201, response.text
        ids.append(response.json()["study"]["id"])
    return ids


def worker(world: World, clock: FakeClock | None = None, **kwargs: Any) -> DeliveryWorker:
    return world.worker(clock=clock, **kwargs)


def attempts(world: World, webhook_id: int) -> list[dict[str, Any]]:
    response = world.client.get(
        f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 200}, headers=world.admin
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


def test_every_delivery_verifies_and_arrives_in_order(backend: str, tmp_path: Path) -> None:
    with committed_world(backend, tmp_path) as world, running_receiver() as receiver:
        hook = subscribe(world, receiver.url(), ["study.submitted", "pooled.changed"])
        submit(world, 3)
        assert worker(world).run_once() == 9  # 3 studies, each with 2 pooled cells
        ids = [int(i.removeprefix("evt_")) for i in receiver.ids()]
        assert ids == list(range(1, 10))
        for got in receiver.received:
            payload = got.verify(hook["secret"])
            assert got.headers["webhook-id"] == payload["id"]
            assert got.headers["content-type"] == "application/json"
        log = attempts(world, hook["id"])
        assert [(a["status_code"], a["delivery_status"]) for a in log] == [(200, "delivered")] * 9
        assert log[0]["response_excerpt"] == "ok"
        assert worker(world).run_once() == 0  # nothing twice


def test_receiver_down_then_up_gets_everything_in_order(backend: str, tmp_path: Path) -> None:
    up = {"value": False}

    def answer(_: Received) -> Answer:
        return (200 if up["value"] else 503, {}, 0.0)

    clock = FakeClock()
    with committed_world(backend, tmp_path) as world, running_receiver(Receiver(answer)) as rx:
        hook = subscribe(world, rx.url())
        submit(world, 3)
        delivering = worker(world, clock)
        assert delivering.run_once() == 1  # the first fails; the others wait behind it
        assert delivering.run_once() == 0  # not due yet
        clock.advance(seconds=DELAYS_SECONDS[1] * 1.21)
        assert delivering.run_once() == 1
        up["value"] = True
        clock.advance(seconds=DELAYS_SECONDS[2] * 1.21)
        submit(world, 1)
        assert delivering.run_once() == 4
        assert rx.ids() == ["evt_1", "evt_1", "evt_1", "evt_4", "evt_7", "evt_10"]
        for got in rx.received[-4:]:
            got.verify(hook["secret"])


def test_500s_follow_the_schedule_then_give_up_then_disable(backend: str, tmp_path: Path) -> None:
    clock = FakeClock()
    with (
        committed_world(backend, tmp_path) as world,
        running_receiver(Receiver(lambda _: (500, {}, 0.0))) as rx,
    ):
        hook = subscribe(world, rx.url())
        submit(world, 6)  # each is given up after about 28 h; 5 days take five of them
        delivering = worker(world, clock)
        times = []
        for attempt in range(1, len(DELAYS_SECONDS) + 1):
            times.append(clock.now())
            # After the 8th failure the first event is given up and the second goes at once.
            assert delivering.run_once() == (1 if attempt < len(DELAYS_SECONDS) else 2)
            row = world.client.get(f"/v1/webhooks/{hook['id']}", headers=world.admin).json()
            assert row["enabled"]
            clock.current = _retry_at(world, hook["id"]) or clock.current
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        for gap, base in zip(gaps, DELAYS_SECONDS[1:], strict=True):
            assert base * 0.8 <= gap <= base * 1.2
        log = attempts(world, hook["id"])
        assert [a["event_id"] for a in log] == ["evt_1"] * 8 + ["evt_4"]
        assert log[7]["delivery_status"] == "failed"  # gave up after the 8th attempt
        while _enabled(world, hook["id"]):  # the next events, until 5 days of failures
            assert delivering.run_once() in (1, 2)  # 2: one given up, the next sent at once
            clock.current = _retry_at(world, hook["id"]) or clock.current
        assert clock.now() - times[0] >= timedelta(days=5)
        disabled = world.client.get(
            "/v1/events", params={"type": "webhook.disabled"}, headers=world.admin
        ).json()["items"]
        assert [e["data"]["webhook_id"] for e in disabled] == [hook["id"]]
        assert "5 days" in disabled[0]["data"]["reason"]


def _retry_at(world: World, webhook_id: int) -> Any:
    from service.db.models import Webhook

    with world.database.session() as session:
        webhook = session.get(Webhook, webhook_id)
        assert webhook is not None
        return webhook.retry_at


def _enabled(world: World, webhook_id: int) -> bool:
    response = world.client.get(f"/v1/webhooks/{webhook_id}", headers=world.admin)
    return bool(response.json()["enabled"])


def test_timeout_410_and_retry_after(backend: str, tmp_path: Path) -> None:
    def answer(got: Received) -> Answer:
        if got.path == "/slow":
            return (200, {}, 1.0)
        if got.path == "/busy":
            return (429, {"Retry-After": "120"}, 0.0)
        if got.path == "/down":
            return (503, {"Retry-After": "7"}, 0.0)
        if got.path == "/moved":
            return (302, {"Location": "http://127.0.0.1:1/elsewhere"}, 0.0)
        return (410, {}, 0.0)

    clock = FakeClock()
    with (
        committed_world(
            backend, tmp_path, webhooks_timeout_seconds=0.3, webhooks_concurrency=8
        ) as world,
        running_receiver(Receiver(answer)) as rx,
    ):
        paths = ("/slow", "/busy", "/gone", "/down", "/moved")
        slow, busy, gone, down, moved = (subscribe(world, rx.url(p)) for p in paths)
        submit(world, 1)
        assert worker(world, clock).run_once() == 5
        assert _retry_at(world, down["id"]) - clock.now() == timedelta(seconds=7)
        redirect = attempts(world, moved["id"])[0]
        assert (redirect["status_code"], redirect["error"]) == (302, "redirect not followed")
        assert [r.path for r in rx.received].count("/elsewhere") == 0
        timed_out = attempts(world, slow["id"])[0]
        assert timed_out["status_code"] is None
        assert "Timeout" in timed_out["error"]
        assert (_retry_at(world, slow["id"]) - clock.now()).total_seconds() == pytest.approx(
            5, rel=0.21
        )
        assert _retry_at(world, busy["id"]) - clock.now() == timedelta(seconds=120)
        assert not _enabled(world, gone["id"])
        assert _enabled(world, slow["id"])
        assert _enabled(world, busy["id"])
        events = world.client.get(
            "/v1/events", params={"type": "webhook.disabled"}, headers=world.admin
        )
        assert [e["data"]["reason"] for e in events.json()["items"]] == [
            "the endpoint answered 410 Gone"
        ]


def test_rotation_signs_with_both_secrets(backend: str, tmp_path: Path) -> None:
    with committed_world(backend, tmp_path) as world, running_receiver() as rx:
        hook = subscribe(world, rx.url())
        rotated = world.client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=world.admin)
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret != hook["secret"]
        submit(world, 1)
        worker(world).run_once()
        got = rx.received[0]
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        got.verify(hook["secret"])
        got.verify(new_secret)


def test_test_event_and_redelivery_keep_the_webhook_id(backend: str, tmp_path: Path) -> None:
    with committed_world(backend, tmp_path) as world, running_receiver() as rx:
        hook = subscribe(world, rx.url())
        submit(world, 1)
        tested = world.client.post(f"/v1/webhooks/{hook['id']}/test", headers=world.admin)
        assert tested.status_code == 202, tested.text
        worker(world).run_once()
        assert [r.payload["type"] for r in rx.received] == ["study.submitted", "webhook.test"]
        again = world.client.post(
            f"/v1/webhooks/{hook['id']}/redeliver", json={"event_id": "evt_1"}, headers=world.admin
        )
        assert again.json() == {"queued": 1}
        worker(world).run_once()
        assert rx.ids() == ["evt_1", tested.json()["event_id"], "evt_1"]
        rx.received[-1].verify(hook["secret"])
        since = world.client.post(
            f"/v1/webhooks/{hook['id']}/redeliver",
            json={"since": "2000-01-01T00:00:00Z"},
            headers=world.admin,
        )
        assert since.json() == {"queued": 2}


def test_a_name_resolving_to_loopback_at_connection_time_is_refused(
    backend: str, tmp_path: Path
) -> None:
    overrides = {"webhooks_allow_private_targets": False, "webhooks_allow_http": True}
    with committed_world(backend, tmp_path, **overrides) as world, running_receiver() as rx:
        hook = subscribe(world, f"http://rebound.example:{rx.port}/hook")
        submit(world, 1)
        # The name was public when stored; now it answers 127.0.0.1 (DNS rebinding).
        rebinding = worker(world, resolver=lambda host, port: ["127.0.0.1"])
        assert rebinding.run_once() == 1
        assert rx.received == []
        refused = attempts(world, hook["id"])[0]
        assert refused["status_code"] is None
        assert "127.0.0.1, a loopback address" in refused["error"]


def test_events_are_pruned_after_90_days_and_ids_never_reused(backend: str, tmp_path: Path) -> None:
    clock = FakeClock()
    with committed_world(backend, tmp_path) as world, running_receiver() as rx:
        subscribe(world, rx.url())
        submit(world, 1)
        worker(world).run_once()
        clock.advance(days=89)
        assert worker(world, clock).prune() == 0
        clock.advance(days=2)
        assert worker(world, clock).prune() == 2  # the newest stays: ids continue from it
        submit(world, 1)
        ids = [e["id"] for e in world.client.get("/v1/events", headers=world.admin).json()["items"]]
        assert ids == ["evt_3", "evt_4", "evt_5", "evt_6"]
        assert attempts(world, 1) == []  # the delivery log went with its events


def test_an_endpoint_gets_only_the_study_events_its_key_may_see(
    backend: str, tmp_path: Path
) -> None:
    from tests.api.studies_support import committed_key

    with committed_world(backend, tmp_path) as world, running_receiver() as rx:
        subscriber = {"Authorization": f"Bearer {committed_key(world.settings, ['subscribe'])}"}
        submitter = {
            "Authorization": f"Bearer {committed_key(world.settings, ['submit'], name='s')}"
        }
        body = {"url": rx.url(), "event_types": ["study.submitted", "study.included"]}
        assert world.client.post("/v1/webhooks", json=body, headers=subscriber).status_code == 201
        pending = world.client.post("/v1/studies", json=trial(), headers=submitter).json()
        submit(world, 1)  # an admin's study is included at once
        included = world.client.post(
            f"/v1/studies/{pending['study']['id']}/include", headers=world.admin
        )
        assert included.status_code == 200
        worker(world).run_once()
        seen = [(r.payload["type"], r.payload["data"]["status"]) for r in rx.received]
        assert seen == [("study.submitted", "included"), ("study.included", "included")]


def _deliveries(world: World, webhook_id: int) -> list[tuple[str, int]]:
    from sqlalchemy import select

    from service.db.models import WebhookDelivery

    with world.database.session() as session:
        rows = session.execute(
            select(WebhookDelivery.status, WebhookDelivery.attempts)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.event_id)
        )
        return [(status, count) for status, count in rows]


def test_retry_after_defers_without_using_up_the_schedule(backend: str, tmp_path: Path) -> None:
    """A receiver that asks for time twelve times (more than the schedule's 8 attempts), in
    seconds and as an HTTP date, then takes the event: it is delivered, not given up."""
    from email.utils import format_datetime

    clock = FakeClock()
    asked = {"count": 0}

    def answer(_: Received) -> Answer:
        asked["count"] += 1
        if asked["count"] > 12:
            return (200, {}, 0.0)
        if asked["count"] % 2:
            return (429, {"Retry-After": "30"}, 0.0)
        when = (clock.now() + timedelta(seconds=90)).astimezone(UTC)
        return (503, {"Retry-After": format_datetime(when, usegmt=True)}, 0.0)

    with (
        committed_world(backend, tmp_path) as world,
        running_receiver(Receiver(answer)) as rx,
    ):
        hook = subscribe(world, rx.url())
        submit(world, 1)
        delivering = worker(world, clock)
        for count in range(1, 13):
            assert delivering.run_once() == 1
            wait = (_retry_at(world, hook["id"]) - clock.now()).total_seconds()
            assert wait == pytest.approx(30 if count % 2 else 90, abs=1)
            assert _deliveries(world, hook["id"]) == [("pending", 0)]
            clock.current = _retry_at(world, hook["id"])
        assert delivering.run_once() == 1
        assert _deliveries(world, hook["id"]) == [("delivered", 1)]
        assert [a["status_code"] for a in attempts(world, hook["id"])] == [429, 503] * 6 + [200]
        assert len(rx.received) == 13


def test_retry_after_is_capped_and_bounded_by_the_window(backend: str, tmp_path: Path) -> None:
    """Retry-After: one day waits the cap (1 h by default); a receiver that always asks is
    given up once the schedule's window has passed and its attempts are used up."""
    from service.delivery.schedule import WINDOW

    clock = FakeClock()
    with (
        committed_world(backend, tmp_path) as world,
        running_receiver(Receiver(lambda _: (429, {"Retry-After": "86400"}, 0.0))) as rx,
    ):
        hook = subscribe(world, rx.url())
        submit(world, 1)
        delivering = worker(world, clock)
        started = clock.now()
        assert delivering.run_once() == 1
        assert _retry_at(world, hook["id"]) - clock.now() == timedelta(hours=1)
        while _deliveries(world, hook["id"])[0][0] == "pending":
            clock.current = _retry_at(world, hook["id"])
            assert delivering.run_once() == 1
        assert _deliveries(world, hook["id"]) == [("failed", len(DELAYS_SECONDS))]
        elapsed = clock.now() - started
        # Free deferrals for the window, then the schedule's attempts, an hour apart each.
        assert WINDOW <= elapsed <= WINDOW + timedelta(hours=len(DELAYS_SECONDS))
        assert len(rx.received) == len(attempts(world, hook["id"]))


def test_an_endpoint_with_more_than_a_batch_pending_is_served_in_batches_up_to_the_claims_cap(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BATCH and MAX_PER_CLAIM at 2 and 4 (100 and 500 in service): 9 deliveries pending for
    one endpoint take three claims of at most 4, each in batches of 2, in order."""
    monkeypatch.setattr(delivery_worker, "BATCH", 2)
    monkeypatch.setattr(delivery_worker, "MAX_PER_CLAIM", 4)
    with committed_world(backend, tmp_path) as world, running_receiver() as receiver:
        subscribe(world, receiver.url(), ["study.submitted", "pooled.changed"])
        submit(world, 3)
        served = [worker(world).run_once() for _ in range(4)]
        assert served == [4, 4, 1, 0]
        ids = [int(i.removeprefix("evt_")) for i in receiver.ids()]
        assert ids == list(range(1, 10))
