"""The write path's figures (issue 23): a write records, a worker concludes.

Run ``python -m bench.writes`` (PostgreSQL too with ``BENCH_POSTGRES_URL``). For each database,
on a fresh one served as deployed (uvicorn, 2 workers): on SQLite each with its in-process
conclusions worker (the default, what ``make run`` serves); on PostgreSQL with
``CONCLUSIONS_IN_API=false`` and ``WEBHOOKS_DELIVER_IN_API=false`` beside one ``lma worker``
process, as the README's "Operating it" has PostgreSQL deployments run it. Then: batch import
10 x 1,000 studies (studies/s), single-study POSTs by a trusted key at ~1,000 and at ~10,000
studies (p50 / p99, and their ratio), POSTs by a key whose studies wait as pending, the first
pooled GET after a write, and the lag from a write's answer to its ``pooled.changed`` in
``GET /v1/events``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import httpx

from bench.server import (
    _lma,
    lma_worker,
    postgres_database,
    sqlite_database,
    uvicorn_server,
)
from bench.studies import StudyFactory
from bench.timing import fmt_seconds, percentile

# The feed's own encoding (any position is a fair cursor): a hand-made copy of an older form
# made every poll a 422 once the cursors became four bytes (issue 25).
from service.api.pagination import encode_cursor

OUTCOME = "empowerment"
BATCH = 1_000
SAMPLES = 40
LAG_SAMPLES = 20
TARGETS = {
    "post_10k_p50": 0.015,
    "post_10k_p99": 0.050,
    "flat": 1.5,
    "pending_p50": 0.020,
    "miss_p50": 0.100,
    "lag_p50": 1.0,
    "lag_p99": 5.0,
}


class Writes:
    def __init__(self, base_url: str, trusted: str, pending: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=120)
        self.trusted = {"Authorization": f"Bearer {trusted}"}
        self.pending = {"Authorization": f"Bearer {pending}"}
        self.factory = StudyFactory(seed=23, prefix=f"writes{os.getpid()}")

    def batches(self, count: int) -> float:
        total = 0.0
        for _ in range(count):
            body = {"studies": self.factory.batch(BATCH)}
            start = time.perf_counter()
            response = self.client.post("/v1/studies/batch", json=body, headers=self.trusted)
            total += time.perf_counter() - start
            assert response.status_code == 201, response.text[:300]
        return count * BATCH / total

    def posts(self, headers: dict[str, str], samples: int = SAMPLES) -> list[float]:
        times = []
        for _ in range(samples):
            body = self.factory.study(outcome=OUTCOME)
            start = time.perf_counter()
            response = self.client.post("/v1/studies", json=body, headers=headers)
            times.append(time.perf_counter() - start)
            assert response.status_code == 201, response.text[:300]
        return times

    def newest_event(self) -> int:
        newest, after = 0, None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if after:
                params["after"] = after
            page = self.client.get("/v1/events", params=params).json()
            if not page["items"]:
                return newest
            newest = int(page["items"][-1]["id"].removeprefix("evt_"))
            after = page.get("next_cursor") or encode_cursor(newest)

    def lag(self) -> list[float]:
        """From a write's answer to its pooled.changed in the feed (polled every 5 ms)."""
        lags = []
        for _ in range(LAG_SAMPLES):
            after = self.newest_event()
            body = self.factory.study(outcome=OUTCOME)
            response = self.client.post("/v1/studies", json=body, headers=self.trusted)
            answered = time.perf_counter()
            version = response.json()["evidence_version"]
            while not self.published(after, version) and time.perf_counter() - answered < 30:
                time.sleep(0.005)
            lags.append(time.perf_counter() - answered)
        return lags

    def published(self, after: int, version: int) -> bool:
        """Whether the feed holds ``version``'s pooled.changed after event ``after``."""
        params = {"after": encode_cursor(after), "type": "pooled.changed", "limit": 200}
        response = self.client.get("/v1/events", params=params)
        response.raise_for_status()  # a refused poll fails the run, not a KeyError later
        return any(e["data"]["evidence_version"] == version for e in response.json()["items"])

    def misses(self) -> list[float]:
        times = []
        for _ in range(10):
            self.posts(self.trusted, 1)
            start = time.perf_counter()
            response = self.client.get(f"/v1/outcomes/{OUTCOME}/pooled")
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
        return times


def run(name: str, database: AbstractContextManager[str]) -> dict[str, Any]:
    with database as url, tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        _lma(env, "db", "upgrade")
        trusted = _lma(env, "keys", "create", "--name", "bench", "--scopes", "submit", "--trusted")
        pending = _lma(env, "keys", "create", "--name", "bot", "--scopes", "submit")
        beside: AbstractContextManager[None] = nullcontext()
        if url.startswith("postgresql"):  # as deployed: an `lma worker` beside the API
            env.update(CONCLUSIONS_IN_API="false", WEBHOOKS_DELIVER_IN_API="false")
            beside = lma_worker(env, Path(folder))
        with beside, uvicorn_server("service.main:app", env, Path(folder)) as base_url:
            w = Writes(base_url, trusted.splitlines()[1].strip(), pending.splitlines()[1].strip())
            figures: dict[str, Any] = {"backend": name}
            figures["batch_first"] = w.batches(1)
            post_1k = w.posts(w.trusted)
            figures["batch_rest"] = w.batches(9)
            post_10k = w.posts(w.trusted)
            pending_posts = w.posts(w.pending)
            figures["miss"] = w.misses()
            figures["lag"] = w.lag()
            figures["post_1k"], figures["post_10k"] = post_1k, post_10k
            figures["pending"] = pending_posts
            return figures


def report(figures: dict[str, Any]) -> list[str]:
    def p(key: str, q: float) -> float:
        return percentile(figures[key], q)

    flat = p("post_10k", 50) / p("post_1k", 50)
    rows = [
        ("POST one study p50 / p99 at ~1,000", f"{fmt_seconds(p('post_1k', 50))} / "
         f"{fmt_seconds(p('post_1k', 99))}", ""),
        ("POST one study p50 / p99 at ~10,000", f"{fmt_seconds(p('post_10k', 50))} / "
         f"{fmt_seconds(p('post_10k', 99))}", "<= 15 / 50 ms"),
        ("flat: p50 at 10,000 / p50 at 1,000", f"{flat:.2f}", "<= 1.5"),
        ("POST by a pending key p50", fmt_seconds(p("pending", 50)), "<= 20 ms"),
        ("batch import studies/s (first 1,000; next 9,000)",
         f"{figures['batch_first']:,.0f}; {figures['batch_rest']:,.0f}", ">= 3,000 / 2,000"),
        ("first pooled GET after a write p50 / p99", f"{fmt_seconds(p('miss', 50))} / "
         f"{fmt_seconds(p('miss', 99))}", "<= 100 ms"),
        ("write answered -> pooled.changed in the feed p50 / p99",
         f"{fmt_seconds(p('lag', 50))} / {fmt_seconds(p('lag', 99))}", "<= 1 s / 5 s"),
    ]  # fmt: skip
    return [f"| {figures['backend']} | {a} | {b} | {c} |" for a, b, c in rows]


def run_writes(postgres_url: str | None, log: Callable[[str], None] = print) -> str:
    """Every database in turn; the markdown table of the write path's figures."""
    backends: list[tuple[str, AbstractContextManager[str]]] = [("SQLite", sqlite_database())]
    if postgres_url:
        backends.append(("PostgreSQL", postgres_database(postgres_url)))
    lines = ["| database | figure | measured | target |", "| --- | --- | --- | --- |"]
    for name, database in backends:
        log(f"writes: {name}")
        lines += report(run(name, database))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL") or None)
    args = parser.parse_args(argv)
    print(run_writes(args.postgres, log=lambda m: print(m, flush=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
