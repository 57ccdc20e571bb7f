"""``python -m bench`` (``make bench``): engine and service benchmarks, written to RESULTS.md."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path

from bench import engine, machine, plots, service, webhooks
from bench.timing import markdown_table

RESULTS = Path(__file__).with_name("RESULTS.md")
# No service scenario starts after this many seconds: the one running then may take a minute more.
TOTAL_SECONDS = 480.0
Check = tuple[str, str, bool | None]


def _checks(checks: Sequence[Check]) -> str:
    status = {True: "met", False: "**missed**", None: "not measured"}
    return markdown_table(
        ("target", "measured", "status"), [(t, m, status[ok]) for t, m, ok in checks]
    )


def report(
    facts: Sequence[tuple[str, str]],
    engine_rows: Sequence[engine.EngineRow],
    service_results: Sequence[service.BackendResult],
    skipped: Sequence[str],
    seconds: float,
    plot_rows: Sequence[plots.Row] = (),
    webhook_table: str = "",
) -> str:
    """The whole RESULTS.md."""
    notes = service.notes(service_results, skipped)
    parts = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench`) in {seconds / 60:.1f} minutes. Do not edit: "
        "run it again. How each figure is measured: the docstrings of `bench/engine.py` and "
        "`bench/service.py`.",
        "",
        "## Machine",
        "",
        markdown_table(("", ""), facts),
        "",
        "## Engine: REML + HKSJ",
        "",
        "Median wall time of repeated fits after a warm-up, in one process, all implementations on "
        "the same simulated data (true effect 0.3, tau2 0.04, 10-300 participants per arm). Peak "
        "memory is what one fit allocates (tracemalloc; R's `gc()` for metafor). The last column "
        "is the implementation's time divided by the service's for the same estimator in the "
        "same run (above 1: the service is faster). statsmodels' `combine_effects` has no REML: "
        'its `method_re="iterated"` is Paule-Mandel, so it is compared with the service\'s PM '
        "fit. PyMARE has no Knapp-Hartung option (z inference).",
        "",
        engine.render(engine_rows),
        "",
        _checks(engine.target_checks(engine_rows)),
        "",
        "## Service: 10,000 studies, uvicorn with 2 workers",
        "",
        "Each database is new for the run (a temporary SQLite file; a throwaway PostgreSQL "
        "database). Latencies are p50 / p99 over the requests made; loads last "
        f"{service.LOAD_SECONDS:g} s per scenario with the aiohttp client in its own process, on "
        "the same 2 cores as the server.",
        "",
        service.render(service_results),
        "",
        *[f"- {line}" for line in notes],
        "",
        _checks(service.target_checks(service_results)),
        "",
        "## Plots: forest plot rendering",
        "",
        plots.render(plot_rows),
        "",
        _checks(plots.target_checks(plot_rows)),
        "",
        "## Webhooks",
        "",
        "Event-to-delivery latency with in-process delivery and deliveries per second of one "
        "worker, to a local receiver (see `bench/webhooks.py`).",
        "",
        webhook_table or "Not run.",
        "",
    ]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL") or None)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    facts = machine.describe()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {message}", flush=True)

    engine_rows = engine.run_engine(log=log)
    print(engine.render(engine_rows), flush=True)
    plot_rows = plots.run_plots(log=log)
    budget = TOTAL_SECONDS - (time.monotonic() - started)
    results, skipped = service.run_service(args.postgres, budget=budget, log=log)
    print(service.render(results), flush=True)
    webhook_table = webhooks.render(webhooks.run_webhooks(args.postgres, log=log))
    print(webhook_table, flush=True)
    seconds = time.monotonic() - started
    text = report(facts, engine_rows, results, skipped, seconds, plot_rows, webhook_table)
    args.output.write_text(text)
    print(f"wrote {args.output} in {(time.monotonic() - started) / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
