"""Concurrent writers across processes, with retries and disconnects: every study exactly once.

PostgreSQL: two uvicorn processes on one database. SQLite: one uvicorn with two workers. Eight
client threads post 400 distinct studies (150 in ``make test``), each with its own
Idempotency-Key, to a server picked at random for every attempt. A seeded plan mixes in the
faults a real bot meets: a retry of a request that already succeeded (it must replay the first
answer, byte for byte), a client that gives up after a few milliseconds and retries, and a
connection closed halfway through the body. Afterwards every study exists exactly once,
versions are 1..N with no gap, and the processes answer every GET identically: studies as of
sampled versions, versions, and pooled results with their ETags.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import Body, peer_group_trial
from tests.reliability.servers import Server, fresh_database, migrated_with_keys, running
from tests.reliability.support import all_pages, evidence_answers, pooled_answers
from tests.support.scale import scaled

pytestmark = [pytest.mark.db, pytest.mark.slow]

SEED = 20261124
CLIENTS = 8
# 400 in `make scale` (tests/support/scale.py): more than the 8 clients' in-flight requests
# either way, so writers still race for every version.
STUDIES = scaled(full=400, quick=150)
KINDS = ("plain", "replayed", "gave-up", "cut-off")
WEIGHTS = (4, 2, 2, 2)
MAX_ATTEMPTS = 50
SAMPLED_VERSIONS = (0, 1, 57, STUDIES // 2, STUDIES - 1, STUDIES)
# Every write recomputes the pooled results it changes, at a cost that grows with the included
# studies; a tenth of the studies included keeps the run bounded and the pooled answers real.
TRUSTED_SHARE = 0.1
KEYS = {"bot": "submit", "trusted-bot": "submit+trusted", "auditor": "admin"}


@dataclass(frozen=True)
class Plan:
    """One study to post, and the fault to meet on the way."""

    index: int
    kind: str
    key: str
    body: Body
    trusted: bool  # posted by the trusted bot (included at once), else pending
    patience: float  # the gave-up client's timeout, in seconds


@dataclass
class Tally:
    """What the clients met, for the assertions and the README's figures."""

    created: dict[int, dict[str, Any]] = field(default_factory=dict)
    replays_equal: int = 0
    gave_up: int = 0
    cut_off: int = 0
    in_progress: int = 0
    transport_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


def _plans() -> list[Plan]:
    rng = random.Random(SEED)
    plans = []
    for index in range(STUDIES):
        body = peer_group_trial(
            title=f"Concurrent study {index:03d}",
            doi=f"10.5555/concurrency.{index:04d}",
            registration_id=f"ISRCTN9{index:07d}",
        )
        kind = rng.choices(KINDS, WEIGHTS)[0]
        key = f"study-{index}-{rng.getrandbits(64):016x}"
        trusted = rng.random() < TRUSTED_SHARE
        plans.append(Plan(index, kind, key, body, trusted, patience=rng.uniform(0.002, 0.15)))
    return plans


def _cut_off(base_url: str, headers: dict[str, str], plan: Plan) -> None:
    """Send the request line, headers and half the body, then close the connection."""
    payload = httpx.Request("POST", "http://x", json=plan.body).content
    host, port = base_url.removeprefix("http://").split(":")
    lines = [
        "POST /v1/studies HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(
            ("\r\n".join(lines) + "\r\n\r\n").encode() + payload[: len(payload) // 2]
        )


def _post_until_answered(
    client: httpx.Client,
    servers: list[str],
    plan: Plan,
    headers: dict[str, str],
    rng: random.Random,
    tally: Tally,
) -> httpx.Response:
    """POST the plan's study until a server gives a final answer (not "in progress")."""
    for _ in range(MAX_ATTEMPTS):
        url = f"{rng.choice(servers)}/v1/studies"
        try:
            response = client.post(url, json=plan.body, headers=headers)
        except httpx.TransportError:
            tally.add("transport_errors")
            time.sleep(0.05)
            continue
        if response.status_code == 409 and "in progress" in response.json()["detail"]:
            tally.add("in_progress")
            time.sleep(0.05)
            continue
        return response
    raise AssertionError(f"study {plan.index} got no final answer in {MAX_ATTEMPTS} attempts")


def _run_client(
    number: int, servers: list[str], keys: dict[str, str], plans: list[Plan], tally: Tally
) -> None:
    rng = random.Random(SEED + number)
    with httpx.Client(timeout=30) as client:
        for plan in plans:
            key = keys["trusted-bot" if plan.trusted else "bot"]
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": plan.key}
            if plan.kind == "cut-off":
                _cut_off(rng.choice(servers), headers, plan)
                tally.add("cut_off")
            if plan.kind == "gave-up":
                try:
                    url = f"{rng.choice(servers)}/v1/studies"
                    client.post(url, json=plan.body, headers=headers, timeout=plan.patience)
                except httpx.TimeoutException:
                    tally.add("gave_up")
            response = _post_until_answered(client, servers, plan, headers, rng, tally)
            assert response.status_code == 201, response.text
            if plan.kind == "replayed":
                again = _post_until_answered(client, servers, plan, headers, rng, tally)
                assert (again.status_code, again.content) == (201, response.content)
                tally.add("replays_equal")
            with tally.lock:
                tally.created[plan.index] = response.json()


def _write_concurrently(servers: list[str], keys: dict[str, str]) -> Tally:
    plans, tally = _plans(), Tally()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [
            pool.submit(_run_client, n, servers, keys, plans[n::CLIENTS], tally)
            for n in range(CLIENTS)
        ]
        for future in futures:
            future.result(timeout=120)
    return tally


def _answers(base_url: str) -> dict[str, Any]:
    """Every read the test compares across processes (fresh connections)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        answers = evidence_answers(client.get, versions=SAMPLED_VERSIONS)
        return answers | pooled_answers(client.get, SAMPLED_VERSIONS)


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[tuple[list[Server], dict[str, str]]]:
    """PostgreSQL: two single-worker processes; SQLite: one process with two workers."""
    with fresh_database(backend, tmp_path) as url, ExitStack() as stack:
        keys = migrated_with_keys(url, KEYS)
        if backend == "postgresql":
            logs = [tmp_path / "server-1.log", tmp_path / "server-2.log"]
            started = stack.enter_context(running(url, *logs))
        else:
            started = stack.enter_context(running(url, tmp_path / "server.log", workers=2))
        yield started, keys


# no_cover (pytest-cov): a scale test, run without coverage's tracer (2-3 times slower under it);
# the lines it runs are run by the smaller tests beside it.
@pytest.mark.no_cover
@pytest.mark.scale
def test_concurrent_clients_with_retries_and_disconnects_store_each_study_once(
    servers: tuple[list[Server], dict[str, str]],
) -> None:
    started, keys = servers
    urls = [server.base_url for server in started]

    tally = _write_concurrently(urls, keys)

    assert len(tally.created) == STUDIES
    assert tally.replays_equal == Counter(p.kind for p in _plans())["replayed"]
    versions = sorted(answer["evidence_version"] for answer in tally.created.values())
    assert versions == list(range(1, STUDIES + 1))
    first = _answers(urls[0])
    assert [v["number"] for v in first["versions"]] == list(range(STUDIES, 0, -1))
    listed = first[f"studies@{STUDIES}"]
    assert sorted(s["title"] for s in listed) == [
        f"Concurrent study {i:03d}" for i in range(STUDIES)
    ]
    assert {s["id"]: s["title"] for s in listed} == {
        a["study"]["id"]: a["study"]["title"] for a in tally.created.values()
    }
    auditor = {"Authorization": f"Bearer {keys['auditor']}"}
    with httpx.Client(base_url=urls[0], headers=auditor) as client:
        audit = all_pages(client.get, "/v1/audit")
    assert len(audit) == STUDIES
    # Both processes give the same answers; on SQLite, asked again, whichever worker answers.
    for url in urls[1:] or urls:
        assert _answers(url) == first
    print(
        f"\nconcurrency: {CLIENTS} clients, {len(urls)} process(es), {STUDIES} studies, "
        f"{tally.replays_equal} replays, {tally.gave_up} client timeouts, {tally.cut_off} "
        f"bodies cut off, {tally.in_progress} in-progress answers, "
        f"{tally.transport_errors} transport errors"
    )
