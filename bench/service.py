"""Service benchmark: the production server (uvicorn, 2 workers) with 10,000 studies loaded.

Run ``python -m bench.service`` (PostgreSQL too when ``BENCH_POSTGRES_URL`` names a server).
For each database, on a fresh database: batch import 10 x 1,000 studies, POST one study, and,
when the pooled routes exist, the cached pooled GET under load at 1, 8 and 32 connections (the
aiohttp client of :mod:`bench.load`, in its own process), the same GET just after a write (a cache
miss), ``GET /v1/pooled`` cached and uncached, and ``If-None-Match`` polling. Sequential latencies
are measured with httpx from this process, which is not the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.server import (
    Running,
    postgres_database,
    postgres_reachable,
    production_server,
    sqlite_database,
)
from bench.studies import StudyFactory
from bench.timing import fmt_ratio, fmt_seconds, markdown_table, percentile

BATCHES, BATCH_SIZE = 10, 1_000
BATCH_TARGET = {"SQLite": 3_000, "PostgreSQL": 2_000}  # studies per second (issue 14)
LOAD_SECONDS = 4.0
CONNECTIONS = (1, 8, 32)
POST_SAMPLES, POST_SECONDS = 100, 8.0
MISS_SAMPLES, MISS_SECONDS = 10, 10.0  # at least 2 samples, then until either bound
BUDGET_SECONDS = 420.0  # for the whole service benchmark, so that make bench ends within 10 min
OUTCOME = "empowerment"
POOLED = "/v1/outcomes/{outcome}/pooled"
ALL_POOLED = "/v1/pooled"
Log = Callable[[str], None]


@dataclass
class BackendResult:
    """Every figure measured on one database; ``notes`` say what could not be measured."""

    backend: str
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _latencies(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "median": percentile(samples, 50),
    }


class Bench:
    """The scenarios, run in order against one running server."""

    def __init__(
        self, server: Running, result: BackendResult, log: Log, seconds: float, deadline: float
    ) -> None:
        self.deadline = deadline
        self.server = server
        self.result = result
        self.log = log
        self.seconds = seconds
        self.factory = StudyFactory(seed=7, prefix=f"bench{os.getpid()}")
        self.writer = {"Authorization": f"Bearer {server.api_key}"}
        self.client = httpx.Client(base_url=server.base_url, timeout=120)

    def close(self) -> None:
        self.client.close()

    def in_time(self, scenario: str) -> bool:
        """False, with a note, once the run's time budget is spent (make bench stays bounded)."""
        if time.monotonic() < self.deadline:
            return True
        self.result.notes.append(f"{scenario}: skipped, the benchmark's time budget was spent")
        return False

    def routes(self) -> set[str]:
        paths: dict[str, Any] = self.client.get("/openapi.json").json().get("paths", {})
        return set(paths)

    def batch_import(self) -> None:
        """10 batches of 1,000 studies, one after another; studies per second over all."""
        self.log("service: batch import")
        times = []
        for _ in range(BATCHES):
            body = {"studies": self.factory.batch(BATCH_SIZE)}
            start = time.perf_counter()
            response = self.client.post("/v1/studies/batch", json=body, headers=self.writer)
            times.append(time.perf_counter() - start)
            _expect(response, 201)
        total = sum(times)
        self.result.figures["batch"] = {
            "studies_per_s": BATCHES * BATCH_SIZE / total,
            "batch_p50": percentile(times, 50),
            "batch_max": max(times),
            "total": total,
        }

    def post_one(self) -> None:
        """Single-study POSTs back to back (with pooled_changes when the service sends them)."""
        self.log("service: POST one study")
        samples: list[float] = []
        pooled_changes = False
        deadline = time.monotonic() + POST_SECONDS
        while len(samples) < 3 or (len(samples) < POST_SAMPLES and time.monotonic() < deadline):
            body = self.factory.study(outcome=OUTCOME)
            start = time.perf_counter()
            response = self.client.post("/v1/studies", json=body, headers=self.writer)
            samples.append(time.perf_counter() - start)
            _expect(response, 201)
            pooled_changes = pooled_changes or "pooled_changes" in response.json()
        self.result.figures["post"] = {**_latencies(samples), "pooled_changes": pooled_changes}

    def _write(self) -> None:
        response = self.client.post(
            "/v1/studies", json=self.factory.study(outcome=OUTCOME), headers=self.writer
        )
        _expect(response, 201)

    def _timed_get(self, path: str, headers: dict[str, str] | None = None) -> float:
        start = time.perf_counter()
        response = self.client.get(path, headers=headers)
        elapsed = time.perf_counter() - start
        _expect(response, 200)
        return elapsed

    def _after_writes(self, path: str) -> list[float]:
        """GET ``path`` just after each of several writes: only the GETs are timed."""
        samples: list[float] = []
        deadline = time.monotonic() + MISS_SECONDS
        while len(samples) < 2 or (len(samples) < MISS_SAMPLES and time.monotonic() < deadline):
            self._write()
            samples.append(self._timed_get(path))
        return samples

    def pooled(self) -> None:
        """The cached pooled GET under load, 304 polling, then the same GET after a write."""
        path = POOLED.format(outcome=OUTCOME)
        first = self.client.get(path)  # computes and caches (in whichever worker answers)
        _expect(first, 200)
        for connections in CONNECTIONS:
            self.log(f"service: cached pooled GET, {connections} connection(s)")
            self.result.figures[f"cached_{connections}"] = _load(
                self.server.base_url + path, connections, self.seconds
            )
        etag = first.headers.get("etag")
        if etag is None:
            self.result.notes.append("the pooled GET sends no ETag: no If-None-Match polling")
        else:
            self.log("service: If-None-Match polling")
            polled = _load(self.server.base_url + path, 32, self.seconds, {"If-None-Match": etag})
            self.result.figures["not_modified"] = polled
        if self.in_time("pooled GET after a write"):
            self.log("service: pooled GET after a write")
            self.result.figures["miss"] = _latencies(self._after_writes(path))

    def all_pooled(self) -> None:
        """``GET /v1/pooled``: uncached just after a write, then cached."""
        self.log("service: GET /v1/pooled")
        uncached = self._after_writes(ALL_POOLED)
        cached = [self._timed_get(ALL_POOLED) for _ in range(3 * MISS_SAMPLES)]
        self.result.figures["all_uncached"] = _latencies(uncached)
        self.result.figures["all_cached"] = _latencies(cached)


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:500]}"
        )


def _load(
    url: str, connections: int, seconds: float, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run :mod:`bench.load` in a process of its own and return its JSON result."""
    command = [
        sys.executable,
        "-m",
        "bench.load",
        url,
        "--connections",
        str(connections),
        "--duration",
        str(seconds),
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_backend(
    backend: str,
    database: AbstractContextManager[str],
    log: Log,
    seconds: float,
    deadline: float,
) -> BackendResult:
    result = BackendResult(backend)
    with database as url, tempfile.TemporaryDirectory() as logs:
        log(f"service: {backend}: migrating, creating a key, starting uvicorn")
        with production_server(url, Path(logs)) as server:
            bench = Bench(server, result, lambda m: log(f"{m} ({backend})"), seconds, deadline)
            try:
                _scenarios(bench)
            finally:
                bench.close()
    return result


def _scenarios(bench: Bench) -> None:
    """In order of importance, each skipped once the time budget is spent."""
    bench.batch_import()
    if bench.in_time("POST one study"):
        bench.post_one()
    routes = bench.routes()
    if POOLED not in routes:
        bench.result.notes.append(f"GET {POOLED}: not available (no such route yet)")
    elif bench.in_time(f"GET {POOLED}"):
        bench.pooled()
    if ALL_POOLED not in routes:
        bench.result.notes.append(f"GET {ALL_POOLED}: not available (no such route yet)")
    elif bench.in_time(f"GET {ALL_POOLED}"):
        bench.all_pooled()


def backends(
    postgres_url: str | None,
) -> tuple[list[tuple[str, AbstractContextManager[str]]], list[str]]:
    """SQLite always; PostgreSQL when its server is reachable. Also why one was left out."""
    chosen: list[tuple[str, AbstractContextManager[str]]] = [("SQLite", sqlite_database())]
    skipped = []
    if not postgres_url:
        skipped.append("PostgreSQL: not run (no BENCH_POSTGRES_URL)")
    elif why := postgres_reachable(postgres_url):
        skipped.append(f"PostgreSQL: not run ({why})")
    else:
        chosen.append(("PostgreSQL", postgres_database(postgres_url)))
    return chosen, skipped


def run_service(
    postgres_url: str | None = None,
    *,
    seconds: float = LOAD_SECONDS,
    budget: float = BUDGET_SECONDS,
    log: Log = print,
) -> tuple[list[BackendResult], list[str]]:
    """Every database in turn; scenarios not yet started after ``budget`` seconds are skipped."""
    chosen, skipped = backends(postgres_url)
    deadline = time.monotonic() + budget
    results = []
    for name, database in chosen:
        if time.monotonic() > deadline:
            results.append(BackendResult(name, notes=["not run: the time budget was spent"]))
            continue
        try:
            results.append(run_backend(name, database, log, seconds, deadline))
        except (RuntimeError, subprocess.SubprocessError, httpx.HTTPError) as exc:
            failed = BackendResult(name, notes=[f"the run failed: {exc}"])
            results.append(failed)
    return results, skipped


Cell = Callable[[dict[str, dict[str, Any]]], str]
Check = Callable[[dict[str, dict[str, Any]]], bool]


def _p50_p99(key: str) -> Cell:
    return lambda f: (
        f"{fmt_seconds(f[key]['p50'])} / {fmt_seconds(f[key]['p99'])} (n = {f[key]['n']})"
    )


def _throughput(key: str) -> Cell:
    return lambda f: (
        f"{f[key]['rps']:,.0f} req/s; {fmt_seconds(f[key]['p50'])} / {fmt_seconds(f[key]['p99'])}"
    )


def _ratio(top: str, bottom: str) -> Cell:
    return lambda f: fmt_ratio(f[top]["p50"] / f[bottom]["p50"])


# (scenario, what the cell shows, the figure keys it needs, cell, target, check)
ROWS: list[tuple[str, str, tuple[str, ...], Cell, str, Check | None]] = [
    (
        "batch import, 10 x 1,000 studies",
        "studies/s",
        ("batch",),
        lambda f: f"{f['batch']['studies_per_s']:,.0f}",
        ">= 3,000 (SQLite), 2,000 (PostgreSQL)",
        lambda f: f["batch"]["studies_per_s"] >= BATCH_TARGET[f["backend"]["name"]],
    ),
    (
        "POST /v1/studies, one study",
        "p50 / p99",
        ("post",),
        _p50_p99("post"),
        "p50 <= 15 ms",
        lambda f: f["post"]["p50"] <= 0.015,
    ),
    (
        "pooled GET cached, 1 connection",
        "throughput; p50 / p99",
        ("cached_1",),
        _throughput("cached_1"),
        "",
        None,
    ),
    (
        "pooled GET cached, 8 connections",
        "throughput; p50 / p99",
        ("cached_8",),
        _throughput("cached_8"),
        "",
        None,
    ),
    (
        "pooled GET cached, 32 connections",
        "throughput; p50 / p99",
        ("cached_32",),
        _throughput("cached_32"),
        ">= 1,500 req/s, p99 <= 50 ms",
        lambda f: f["cached_32"]["rps"] >= 1_500 and f["cached_32"]["p99"] <= 0.050,
    ),
    (
        "pooled GET just after a write (miss)",
        "p50 / p99",
        ("miss",),
        _p50_p99("miss"),
        "p50 <= 100 ms",
        lambda f: f["miss"]["p50"] <= 0.100,
    ),
    (
        "cache speed-up: miss / cached (1 connection)",
        "ratio of p50s",
        ("miss", "cached_1"),
        _ratio("miss", "cached_1"),
        "",
        None,
    ),
    (
        "GET /v1/pooled uncached (after a write)",
        "p50 / p99",
        ("all_uncached",),
        _p50_p99("all_uncached"),
        "",
        None,
    ),
    ("GET /v1/pooled cached", "p50 / p99", ("all_cached",), _p50_p99("all_cached"), "", None),
    (
        "cache speed-up: /v1/pooled uncached / cached",
        "ratio of p50s",
        ("all_uncached", "all_cached"),
        _ratio("all_uncached", "all_cached"),
        "",
        None,
    ),
    (
        "If-None-Match polling, 32 connections",
        "304s per second; p50 / p99",
        ("not_modified",),
        _throughput("not_modified"),
        "",
        None,
    ),
    (
        "304 polling / cached 200 throughput (32)",
        "ratio",
        ("not_modified", "cached_32"),
        lambda f: fmt_ratio(f["not_modified"]["rps"] / f["cached_32"]["rps"]),
        "",
        None,
    ),
]


def render(results: Sequence[BackendResult]) -> str:
    """One row per scenario, one column per database; "n/a" where it was not measured."""
    header = ["scenario", "figure", *[r.backend for r in results], "target"]
    body = []
    for scenario, what, keys, cell, target, check in ROWS:
        row = [scenario, what]
        for result in results:
            figures = {**result.figures, "backend": {"name": result.backend}}
            if not all(key in figures for key in keys):
                row.append("n/a")
                continue
            mark = "" if check is None else (" (met)" if check(figures) else " (MISSED)")
            row.append(cell(figures) + mark)
        body.append([*row, target])
    return markdown_table(header, body)


def notes(results: Sequence[BackendResult], skipped: Sequence[str]) -> list[str]:
    lines = list(skipped)
    for result in results:
        lines += [f"{result.backend}: {note}" for note in result.notes]
        post = result.figures.get("post")
        if post is not None and not post["pooled_changes"]:
            lines.append(f"{result.backend}: POST /v1/studies answered without pooled_changes")
    return lines


def target_checks(results: Sequence[BackendResult]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) per database, for the README's list of missed targets."""
    checks: list[tuple[str, str, bool | None]] = []
    for result in results:
        for scenario, _, keys, cell, target, check in ROWS:
            if check is None:
                continue
            name = f"{result.backend}: {scenario}: {target}"
            figures = {**result.figures, "backend": {"name": result.backend}}
            if all(key in figures for key in keys):
                checks.append((name, cell(figures), check(figures)))
            else:
                checks.append((name, "not measured", None))
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL") or None,
        help="a PostgreSQL server URL (default: $BENCH_POSTGRES_URL)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=LOAD_SECONDS,
        help="seconds per load scenario (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    results, skipped = run_service(
        args.postgres, seconds=args.seconds, log=lambda m: print(m, flush=True)
    )
    print()
    print(render(results))
    for line in notes(results, skipped):
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
