"""``python -m bench`` (``make bench``): engine and service benchmarks, written to RESULTS.md."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from bench import dependence, engine, machine, plots, service, stack, webhooks, writes
from bench.server import postgres_database, postgres_reachable, sqlite_database
from bench.timing import markdown_table

RESULTS = Path(__file__).with_name("RESULTS.md")
# No service scenario starts after this many seconds: the one running then may take a minute more.
TOTAL_SECONDS = 420.0
STACK_SECONDS = 3.0
Check = tuple[str, str, bool | None]
DEPENDENCE_NOTE = (
    "Medians of repeated fits after a warm-up, in one process (`bench/dependence.py`); metafor "
    "and clubSandwich on the same data in R, CPU seconds of one call."
)


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
    stack_results: dict[str, dict[int, stack.Figures]] | None = None,
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
        "## Service vs bare Starlette: the limit of the stack",
        "",
        "Fresh databases of 50 and 500 studies; the service (uvicorn, 2 workers) and a bare "
        "Starlette app (`bench/bare.py`: no middleware, no database, the same bytes and ETag, "
        f"also uvicorn with 2 workers) under `wrk -t{stack.THREADS} -c{stack.CONNECTIONS}`, "
        f"{STACK_SECONDS:g} s each, on the same 2 cores as the client. Target: service / bare "
        ">= 0.5. The read side: a write to another outcome, then a poll of the untouched "
        "outcome with its ETag (target: 304), and the sizes of the default answer, its gzip "
        "form and `view=summary`.",
        "",
        stack.render(stack_results or {}),
        "",
    ]
    return "\n".join(parts)


def _stack_databases(
    postgres_url: str | None,
) -> list[tuple[str, Callable[[], AbstractContextManager[str]]]]:
    chosen: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [
        ("SQLite", sqlite_database)
    ]
    if postgres_url and not postgres_reachable(postgres_url):
        chosen.append(("PostgreSQL", lambda: postgres_database(postgres_url)))
    return chosen


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
    dependence_table = dependence.render(dependence.run_dependence(log=log))  # issue 29
    print(dependence_table, flush=True)
    budget = TOTAL_SECONDS - (time.monotonic() - started)
    results, skipped = service.run_service(args.postgres, budget=budget, log=log)
    print(service.render(results), flush=True)
    webhook_table = webhooks.render(webhooks.run_webhooks(args.postgres, log=log))
    print(webhook_table, flush=True)
    stack_results = stack.run_stack(_stack_databases(args.postgres), seconds=STACK_SECONDS, log=log)
    print(stack.render(stack_results), flush=True)
    writes_table = writes.run_writes(args.postgres, log=log)  # issue 23: the write path
    print(writes_table, flush=True)
    seconds = time.monotonic() - started
    text = report(
        facts, engine_rows, results, skipped, seconds, plot_rows, webhook_table, stack_results
    )
    text += "\n## The write path (issue 23)\n\n" + writes_table + "\n"
    text += "\n## Dependent effects and the Bayesian posterior (issue 29)\n\n"
    text += DEPENDENCE_NOTE + "\n\n" + dependence_table + "\n"
    args.output.write_text(text)
    print(f"wrote {args.output} in {(time.monotonic() - started) / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
