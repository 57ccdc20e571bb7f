"""Resident memory of one worker with 20,000 studies, polled with a few hundred specifications.

``python -m bench.memory [--studies N] [--specs M]`` (not part of ``make bench``; about 5 minutes
at the defaults): a SQLite database, one uvicorn worker (``--workers 1``: the process measured
serves every request), N studies imported in batches of 1,000, then M distinct pooled
specifications, each asked for as identity, gzip, brotli and zstd (every cached copy an answer
can have). Prints the worker's VmRSS (and peak VmHWM) from /proc after start, after the import
and after the polling, as one JSON object. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.server import BIN, _free_port, _lma, _stop, _wait_ready, sqlite_database
from bench.studies import StudyFactory

ENCODINGS = ("identity", "gzip", "br", "zstd")


def _memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of ``pid`` in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM")}


def _specs(count: int) -> list[dict[str, Any]]:
    """Distinct specifications: levels, estimators, categories, sections, as clients vary them."""
    estimators = ("REML", "DL", "PM", "HE")
    categories = (None, "peer-group", "one-to-one", "peer-run-service")
    specs = []
    for i in range(count):
        spec: dict[str, Any] = {"level": f"{0.9 + i * 0.0002:.4f}", "estimator": estimators[i % 4]}
        if categories[i // 4 % 4] is not None:
            spec["category"] = categories[i // 4 % 4]
        if i % 5 == 0 and spec["estimator"] == "DL":
            spec["sections"] = ["leave_one_out", "influence"]
        specs.append(spec)
    return specs


def run(studies: int, specs: int) -> dict[str, Any]:
    with sqlite_database() as url:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        _lma(env, "db", "upgrade")
        created = _lma(env, "keys", "create", "--name", "bench", "--scopes", "submit", "--trusted")
        key = {"Authorization": f"Bearer {created.splitlines()[1].strip()}"}
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = Path(url.removeprefix("sqlite:///")).with_name("uvicorn.log")
        command = [str(BIN / "uvicorn"), "service.main:app", "--port", str(port), "--workers", "1"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            _wait_ready(base, process, log)
            return _measure(base, key, process.pid, studies, specs)
        finally:
            _stop(process)


def _measure(base: str, key: dict[str, str], pid: int, studies: int, specs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"studies": studies, "specs": specs, "started": _memory(pid)}
    factory = StudyFactory(prefix="memory")
    with httpx.Client(base_url=base, timeout=600) as client:
        for start in range(0, studies, 1000):
            batch = [factory.study("empowerment") for _ in range(min(1000, studies - start))]
            stored = client.post("/v1/studies/batch", json={"studies": batch}, headers=key)
            stored.raise_for_status()
        figures["imported"] = _memory(pid)
        began = time.monotonic()
        for spec in _specs(specs):
            for encoding in ENCODINGS:
                headers = {**key, "Accept-Encoding": encoding}
                answer = client.get("/v1/outcomes/empowerment/pooled", params=spec, headers=headers)
                answer.raise_for_status()
        figures["polled"] = _memory(pid)
        figures["polling_seconds"] = round(time.monotonic() - began, 1)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=20_000)
    parser.add_argument("--specs", type=int, default=300)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.studies, args.specs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
