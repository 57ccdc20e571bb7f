"""The service against the limit of its stack, and the figures of issue 14's read side.

For each database and size (50 and 500 studies, fresh each time): the production server
(uvicorn, 2 workers) answers the cached pooled GET and ``If-None-Match`` polls under
``wrk -t2 -c32`` (the Debian package; :mod:`bench.load` when it is missing), and so does a
bare Starlette app (:mod:`bench.bare`: no middleware, no database) serving the same bytes
with the same ETag; the ratio service / bare is the share of the stack's limit reached.
Then, on the same server: a write to another outcome must leave the untouched outcome's
poll a 304, and the sizes of the default answer, its gzip form and ``view=summary``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx

from bench.server import production_server, uvicorn_server
from bench.studies import StudyFactory
from bench.timing import fmt_ratio, fmt_seconds, markdown_table

SIZES = (50, 500)
CONNECTIONS, THREADS = 32, 2
POOLED = "/v1/outcomes/empowerment/pooled"
UNTOUCHED = "/v1/outcomes/internalized-stigma/pooled"
IDENTITY = {"Accept-Encoding": "identity"}
_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
Log = Callable[[str], None]
Figures = dict[str, Any]


def _wrk_seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNIT[unit]


def parse_wrk(output: str) -> Figures:
    """Requests per second and p50 / p99 latency from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)\.000%\s+(\S+)", output, re.MULTILINE))
    if not latency:
        latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.MULTILINE))
    p50, p99 = (_wrk_seconds(latency[q]) if q in latency else float("nan") for q in ("50", "99"))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": int(non_2xx.group(1)) if non_2xx else 0}


def load(url: str, seconds: float, headers: dict[str, str] | None = None) -> Figures:
    """``wrk -t2 -c32`` on ``url`` (the aiohttp client of :mod:`bench.load` without wrk)."""
    headers = {**IDENTITY, **(headers or {})}
    wrk = shutil.which("wrk")
    if wrk is None:
        from bench.service import _load

        return {**_load(url, CONNECTIONS, seconds, headers), "client": "aiohttp"}
    duration = f"-d{max(1, round(seconds))}s"
    command = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", duration, "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    return {**parse_wrk(done.stdout), "client": "wrk"}


def _bare(body: bytes, etag: str, seconds: float, folder: Path) -> dict[str, Figures]:
    path = folder / f"body-{len(body)}.json"
    path.write_bytes(body)
    env = {**os.environ, "BARE_BODY": str(path), "BARE_ETAG": etag}
    with uvicorn_server("bench.bare:app", env, folder) as base_url:
        url = base_url + POOLED
        return {"get": load(url, seconds), "poll": load(url, seconds, {"If-None-Match": etag})}


def _fill(client: httpx.Client, key: str, size: int) -> None:
    factory = StudyFactory(seed=14, prefix=f"stack{size}")
    headers = {"Authorization": f"Bearer {key}"}
    for start in range(0, size, 1_000):
        batch = factory.batch(min(1_000, size - start))
        response = client.post("/v1/studies/batch", json={"studies": batch}, headers=headers)
        response.raise_for_status()


def read_side(client: httpx.Client, key: str) -> Figures:
    """A write to another outcome, then the untouched outcome's poll; and the sizes."""
    etag = client.get(UNTOUCHED, headers=IDENTITY).headers["etag"]
    study = StudyFactory(seed=15, prefix="other").study(outcome="empowerment")
    results = study["outcome_results"]
    study["outcome_results"] = [r for r in results if r["outcome"] != "internalized-stigma"]
    headers = {"Authorization": f"Bearer {key}"}
    client.post("/v1/studies", json=study, headers=headers).raise_for_status()
    polled = client.get(UNTOUCHED, headers={"If-None-Match": etag, **IDENTITY})
    full = client.get(POOLED, headers=IDENTITY)
    with client.stream("GET", POOLED, headers={"Accept-Encoding": "gzip"}) as response:
        gzipped = b"".join(response.iter_raw())
    summary = client.get(POOLED, params={"view": "summary"}, headers=IDENTITY)
    return {
        "untouched_poll": polled.status_code,
        "full_bytes": len(full.content),
        "gzip_bytes": len(gzipped),
        "summary_bytes": len(summary.content),
    }


def run_size(
    name: str, database: AbstractContextManager[str], size: int, seconds: float, log: Log
) -> Figures:
    """Service and bare app at one size on one fresh database."""
    with database as url, tempfile.TemporaryDirectory() as logs:
        folder = Path(logs)
        with production_server(url, folder) as server:
            client = httpx.Client(base_url=server.base_url, timeout=120)
            _fill(client, server.api_key, size)
            first = client.get(POOLED, headers=IDENTITY)
            first.raise_for_status()
            etag = first.headers["etag"]
            log(f"stack: {name}, {size} studies: service under wrk")
            figures: Figures = {
                "bytes": len(first.content),
                "get": load(server.base_url + POOLED, seconds),
                "poll": load(server.base_url + POOLED, seconds, {"If-None-Match": etag}),
                "read_side": read_side(client, server.api_key),
            }
            client.close()
        log(f"stack: {name}, {size} studies: bare Starlette under wrk")
        figures["bare"] = _bare(first.content, etag, seconds, folder)
    return figures


def run_stack(
    databases: Sequence[tuple[str, Callable[[], AbstractContextManager[str]]]],
    *,
    seconds: float,
    log: Log,
) -> dict[str, dict[int, Figures]]:
    """Every database and size; a failure is recorded, not fatal."""
    results: dict[str, dict[int, Figures]] = {}
    for name, make_database in databases:
        results[name] = {}
        for size in SIZES:
            try:
                results[name][size] = run_size(name, make_database(), size, seconds, log)
            except (RuntimeError, subprocess.SubprocessError, httpx.HTTPError) as exc:
                results[name][size] = {"failed": str(exc)[:300]}
    return results


def _cell(service: Figures, bare: Figures) -> str:
    ratio = service["rps"] / bare["rps"] if bare["rps"] else None
    mark = "met" if ratio is not None and ratio >= 0.5 else "**missed**"
    return (
        f"{service['rps']:,.0f} vs {bare['rps']:,.0f} req/s = {fmt_ratio(ratio)} ({mark}); "
        f"p99 {fmt_seconds(service['p99'])}"
    )


def render(results: dict[str, dict[int, Figures]]) -> str:
    """Service vs bare Starlette per database and size (target: ratio >= 0.5)."""
    rows = []
    for name, sizes in results.items():
        for size, figures in sizes.items():
            if "failed" in figures:
                rows.append([name, f"{size}", "failed", figures["failed"], ""])
                continue
            rows.append(
                [
                    name,
                    f"{size} ({figures['bytes'] / 1024:,.0f} kB)",
                    _cell(figures["get"], figures["bare"]["get"]),
                    _cell(figures["poll"], figures["bare"]["poll"]),
                    _read_side_cell(figures["read_side"]),
                ]
            )
    header = ("database", "studies (answer)", "cached GET", "304 polling", "read side")
    return markdown_table(header, rows)


def _read_side_cell(read: Figures) -> str:
    status = read["untouched_poll"]
    poll = "304 (met)" if status == 304 else f"{status} (**missed**)"
    return (
        f"untouched outcome after another outcome's write: {poll}; gzip "
        f"{read['gzip_bytes'] / 1024:,.0f} of {read['full_bytes'] / 1024:,.0f} kB; "
        f"summary {read['summary_bytes']:,} B"
    )
