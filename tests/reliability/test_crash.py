"""Crash safety: ``kill -9`` a real server in the middle of a 1,000-study batch, twice.

A uvicorn process serves a new database (a copy of the run's migrated template, on which ``lma
db upgrade`` finds nothing to do; key from ``lma keys create``). After some studies are stored,
a 1,000-study batch is sent and the server is killed with SIGKILL while the batch's write
transaction is open (the database shows it writing; the client never gets an answer). After
each restart ``/ready`` is green, none of the batch exists, everything before it does,
unchanged, and versions are gapless; a write after the last crash takes the next version
number.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.factories import cluster_peer_service_trial, one_to_one_stigma_trial, peer_group_trial
from tests.reliability.servers import (
    Server,
    fresh_database,
    migrated_with_keys,
    writer_in_flight,
)
from tests.reliability.support import all_pages, evidence_answers

pytestmark = [pytest.mark.db, pytest.mark.slow]

BATCH_SIZE = 1_000
CRASHES = 2
IN_FLIGHT_TIMEOUT = 30.0
# How long the batch's transaction must stay open after it started writing before the kill,
# so that the kill lands in the middle of the write, not at its first statement. Short: on
# PostgreSQL the write starts with the version's number and lasts a few tenths of a second;
# 0.3 s was enough only while this batch (one first author, one year) made the near-duplicate
# check compare each study with every earlier one (issue 23), and a faster write ended first.
INTO_THE_WRITE = 0.05


class Crashable:
    """A server that can be killed and restarted on the same database."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.server = self._start()

    def _start(self) -> Server:
        server = Server(self.url, self.log)
        server.wait_until_ready()
        return server

    def restart(self) -> None:
        self.server = self._start()

    def client(self, key: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.Client(base_url=self.server.base_url, headers=headers, timeout=60)


@pytest.fixture
def crashable(backend: str, tmp_path: Path) -> Iterator[tuple[Crashable, str]]:
    with fresh_database(backend, tmp_path) as url:
        key = migrated_with_keys(url, {"crash-bot": "submit,curate"})["crash-bot"]
        target = Crashable(url, tmp_path / "server.log")
        try:
            yield target, key
        finally:
            target.server.stop()


def _store_before(client: httpx.Client) -> None:
    """Six versions: five single studies and a batch of twenty."""
    for body in (peer_group_trial(), one_to_one_stigma_trial(), cluster_peer_service_trial()):
        assert client.post("/v1/studies", json=body).status_code == 201
    for year in (2014, 2015):
        assert client.post("/v1/studies", json=peer_group_trial(year=year)).status_code == 201
    batch = [one_to_one_stigma_trial(title=f"Earlier batch {i}") for i in range(20)]
    assert client.post("/v1/studies/batch", json={"studies": batch}).status_code == 201


def _wait_for_the_write(url: str, sender: threading.Thread) -> None:
    deadline = time.monotonic() + IN_FLIGHT_TIMEOUT
    while not writer_in_flight(url):
        assert sender.is_alive(), "the batch was answered before it was seen writing"
        assert time.monotonic() < deadline, "the batch never started writing"
        time.sleep(0.02)


def _wait_until_concluded(target: Crashable, key: str) -> None:
    """The in-API conclusions worker has concluded every version, so that the only writer
    seen afterwards is the batch (the worker's short transactions take the same write lock:
    seen once as "the batch's transaction ended before the kill" under load)."""
    deadline = time.monotonic() + IN_FLIGHT_TIMEOUT
    with target.client(key) as client:
        while client.get("/health").json()["conclusions"]["waiting"] > 0:
            assert time.monotonic() < deadline, "the conclusions worker never caught up"
            time.sleep(0.05)


def _kill_mid_batch(target: Crashable, key: str, crash: int) -> dict[str, Any]:
    """Send a 1,000-study batch and kill the server while it writes; what the client got."""
    _wait_until_concluded(target, key)
    body = {
        "studies": [peer_group_trial(title=f"Crash {crash} study {i}") for i in range(BATCH_SIZE)]
    }
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            with target.client(key) as client:
                outcome["response"] = client.post("/v1/studies/batch", json=body)
        except httpx.TransportError as error:
            outcome["error"] = error

    sender = threading.Thread(target=send)
    sender.start()
    _wait_for_the_write(target.url, sender)
    time.sleep(INTO_THE_WRITE)
    assert writer_in_flight(target.url), "the batch's transaction ended before the kill"
    target.server.kill_hard()
    sender.join(30)
    return outcome


def _sqlite_is_intact(url: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(make_url(url).database or "") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_kill_9_mid_batch_keeps_everything_before_and_nothing_of_the_batch(
    crashable: tuple[Crashable, str],
) -> None:
    target, key = crashable
    with target.client(key) as client:
        _store_before(client)
        before = evidence_answers(client.get)
    assert before["head"] == 6
    assert len(before["studies@6"]) == 25

    for crash in range(CRASHES):
        outcome = _kill_mid_batch(target, key, crash)
        assert "response" not in outcome, "the server answered: it was not killed mid-request"
        assert isinstance(outcome["error"], httpx.RemoteProtocolError | httpx.ReadError)
        _sqlite_is_intact(target.url)

        target.restart()
        with target.client(key) as client:
            ready = client.get("/ready")
            assert ready.status_code == 200
            assert ready.json()["status"] == "ready"
            after = evidence_answers(client.get)
            crashed = all_pages(client.get, "/v1/studies", q=f"Crash {crash} study")
        assert after == before
        assert [v["number"] for v in after["versions"]] == list(range(6, 0, -1))
        assert crashed == []

    with target.client(key) as client:
        created = client.post("/v1/studies", json=peer_group_trial())
        assert created.status_code == 201
        assert created.json()["evidence_version"] == 7
        # Study ids may skip (PostgreSQL's sequences do not roll back); versions never do.
        assert len(all_pages(client.get, "/v1/studies")) == 26
