"""Engine benchmark: REML + HKSJ at k = 20 ... 1,000,000 against statsmodels, PyMARE and metafor.

Run ``python -m bench.engine`` (``--k 20,1000`` for fewer sizes). Every implementation fits the
same simulated data in the same run; times are medians of several fits after a warm-up, and peak
memory is what one fit allocates (tracemalloc, which numpy reports to; R's ``gc()`` "max used"
for metafor). The comparisons are optional: a missing library is reported, not fatal.

What is comparable: statsmodels' ``combine_effects`` has no REML; its ``method_re="iterated"`` is
Paule-Mandel, so it is compared with the service's PM + HKSJ fit (same tau2, same interval).
PyMARE's ``VarianceBasedLikelihoodEstimator(method="REML")`` is REML with z inference (it has no
Knapp-Hartung option). metafor's ``rma(method = "REML", test = "knha")`` is exactly the service's
REML + HKSJ.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.timing import fmt_megabytes, fmt_ratio, fmt_seconds, markdown_table, median

Array = NDArray[np.float64]
Fit = Callable[[Array, Array], tuple[float, float]]
KS = (20, 1_000, 100_000, 1_000_000)
# Each implementation gets at most this many seconds of timed fits per k (and at least 3 fits).
BUDGET_SECONDS = 2.0
MAX_REPEATS = 200
WARMUP_MAX_K = 100_000
METAFOR_MAX_K = 1_000  # rma builds k x k matrices: 80 GB at k = 100,000
OURS = "service"


@dataclass(frozen=True, slots=True)
class Implementation:
    """One way of fitting the model; ``baseline`` names the service row it is compared with."""

    name: str
    method: str
    baseline: str
    fit: Fit | None
    missing: str = ""


@dataclass(frozen=True, slots=True)
class EngineRow:
    k: int
    name: str
    method: str
    seconds: float
    repeats: int
    peak_mb: float
    tau2: float
    estimate: float
    ratio: float | None
    note: str = ""


def simulate(k: int, seed: int = 20190301) -> tuple[Array, Array]:
    """Hedges' g of ``k`` two-arm trials (10-300 per arm), true effect 0.3, tau2 0.04."""
    rng = np.random.default_rng(seed)
    n1 = np.exp(rng.uniform(math.log(10), math.log(300), k)).round()
    n2 = np.exp(rng.uniform(math.log(10), math.log(300), k)).round()
    theta = rng.normal(0.3, 0.2, k)
    within = (n1 + n2) / (n1 * n2)
    yi = rng.normal(theta, np.sqrt(within))
    vi = within + yi**2 / (2.0 * (n1 + n2))
    return yi, vi


def _service(estimator: str) -> Fit:
    from service.stats.estimators import CiMethod, Tau2Estimator
    from service.stats.models import fit_random_effects

    method = Tau2Estimator(estimator)

    def fit(yi: Array, vi: Array) -> tuple[float, float]:
        result = fit_random_effects(yi, vi, estimator=method, ci_method=CiMethod.HKSJ)
        return result.tau2, result.estimate

    return fit


def _statsmodels() -> Fit:
    from statsmodels.stats.meta_analysis import combine_effects

    def fit(yi: Array, vi: Array) -> tuple[float, float]:
        result = combine_effects(yi, vi, method_re="iterated", use_t=True)
        result.conf_int(use_t=True)  # includes the HKSJ ("re_wls") interval
        return float(result.tau2), float(result.mean_effect_re)

    return fit


def _pymare() -> Fit:
    from pymare import Dataset
    from pymare.estimators import VarianceBasedLikelihoodEstimator

    def fit(yi: Array, vi: Array) -> tuple[float, float]:
        estimator = VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(Dataset(yi, vi))
        summary = estimator.summary()
        summary.get_fe_stats()
        return float(np.ravel(summary.tau2)[0]), float(np.ravel(summary.fe_params)[0])

    return fit


def _optional(name: str, method: str, baseline: str, make: Callable[[], Fit]) -> Implementation:
    try:
        return Implementation(name, method, baseline, make())
    except ImportError as exc:
        return Implementation(name, method, baseline, None, f"not installed ({exc.name})")


def implementations(*, comparisons: bool = True) -> list[Implementation]:
    """The service's REML and PM fits, then statsmodels and PyMARE when they are installed."""
    reml = f"{OURS} REML"
    ours = [
        Implementation(reml, "REML + HKSJ", reml, _service("REML")),
        Implementation(f"{OURS} PM", "PM + HKSJ", f"{OURS} PM", _service("PM")),
    ]
    if not comparisons:
        return ours
    return [
        *ours,
        _optional(
            "statsmodels combine_effects",
            "PM (iterated) + HKSJ",
            f"{OURS} PM",
            _statsmodels,
        ),
        _optional("PyMARE", "REML + z", reml, _pymare),
    ]


def _time_fits(fit: Fit, yi: Array, vi: Array, budget: float) -> tuple[list[float], float, float]:
    """Timed fits until ``budget`` seconds are spent, 3 to MAX_REPEATS.

    After one untimed warm-up below WARMUP_MAX_K studies; beyond, a fit takes far longer than
    any first-call cost (imports happened at the smaller sizes), so the warm-up is skipped.
    """
    tau2, estimate = fit(yi, vi) if yi.size < WARMUP_MAX_K else (math.nan, math.nan)
    times: list[float] = []
    spent = 0.0
    while len(times) < MAX_REPEATS and (len(times) < 3 or spent < budget):
        start = time.perf_counter()
        tau2, estimate = fit(yi, vi)
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return times, tau2, estimate


def _peak_mb(fit: Fit, yi: Array, vi: Array) -> float:
    """Peak bytes allocated during one fit (inputs excluded), in MB."""
    tracemalloc.start()
    try:
        fit(yi, vi)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _measure(impl: Implementation, k: int, yi: Array, vi: Array, budget: float) -> EngineRow:
    if impl.fit is None:
        return EngineRow(
            k, impl.name, impl.method, math.nan, 0, math.nan, math.nan, math.nan, None, impl.missing
        )
    times, tau2, estimate = _time_fits(impl.fit, yi, vi, budget)
    peak = _peak_mb(impl.fit, yi, vi)
    return EngineRow(
        k, impl.name, impl.method, median(times), len(times), peak, tau2, estimate, None
    )


def metafor_missing() -> str:
    """Why metafor cannot be run here, or "" when it can."""
    if shutil.which("Rscript") is None:
        return "not run: R not installed"
    probe = subprocess.run(
        ["Rscript", "-e", "library(metafor)"], capture_output=True, timeout=120, check=False
    )
    return "" if probe.returncode == 0 else "not run: metafor not installed"


def _metafor(k: int, yi: Array, vi: Array, missing: str) -> EngineRow:
    name, method = "metafor rma", "REML + knha"
    if missing:
        note = missing
        return EngineRow(k, name, method, math.nan, 0, math.nan, math.nan, math.nan, None, note)
    if k > METAFOR_MAX_K:
        note = f"not run: rma builds k x k matrices ({8 * k * k / 1e9:,.0f} GB)"
        return EngineRow(k, name, method, math.nan, 0, math.nan, math.nan, math.nan, None, note)
    repeats = 20 if k <= 100 else 3
    script = Path(__file__).with_name("metafor.R")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data.csv"
        np.savetxt(
            data, np.column_stack([yi, vi]), delimiter=",", header="yi,vi", comments="", fmt="%.17g"
        )
        out = subprocess.run(
            ["Rscript", str(script), str(data), str(repeats)],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        ).stdout.split()
    seconds, peak, tau2, estimate = (float(x) for x in out[:4])
    return EngineRow(
        k, name, method, seconds, repeats, peak, tau2, estimate, None, "peak: R gc() max used"
    )


def _with_ratios(rows: Sequence[EngineRow], impls: Sequence[Implementation]) -> list[EngineRow]:
    """Each row's time divided by its baseline's time at the same k (>1: the service is faster)."""
    baseline_of = {impl.name: impl.baseline for impl in impls} | {"metafor rma": f"{OURS} REML"}
    ours = {(row.k, row.name): row.seconds for row in rows}
    result = []
    for row in rows:
        base = ours.get((row.k, baseline_of.get(row.name, "")))
        ratio = None
        if base and row.name != baseline_of.get(row.name) and not math.isnan(row.seconds):
            ratio = row.seconds / base
        result.append(EngineRow(**{**_as_dict(row), "ratio": ratio}))
    return result


def _as_dict(row: EngineRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in EngineRow.__slots__}


def run_engine(
    ks: Sequence[int] = KS,
    *,
    budget: float = BUDGET_SECONDS,
    with_metafor: bool = True,
    comparisons: bool = True,
    log: Callable[[str], None] = print,
) -> list[EngineRow]:
    """Measure every implementation at every k, in this process (metafor in Rscript)."""
    impls = implementations(comparisons=comparisons)
    r_missing = metafor_missing() if with_metafor else "not run (--no-metafor)"
    rows: list[EngineRow] = []
    for k in ks:
        yi, vi = simulate(k)
        for impl in impls:
            log(f"engine: k={k:,} {impl.name}")
            rows.append(_measure(impl, k, yi, vi, budget))
        log(f"engine: k={k:,} metafor")
        rows.append(_metafor(k, yi, vi, r_missing))
    return _with_ratios(rows, impls)


def _fmt(value: float, pattern: str) -> str:
    return "-" if math.isnan(value) else format(value, pattern)


def render(rows: Sequence[EngineRow]) -> str:
    """The engine table: one line per (k, implementation)."""
    header = (
        "k",
        "implementation",
        "method",
        "median time",
        "fits",
        "peak memory",
        "tau2",
        "estimate",
        "time / service's",
        "note",
    )
    body = [
        (
            f"{row.k:,}",
            row.name,
            row.method,
            fmt_seconds(row.seconds),
            str(row.repeats),
            fmt_megabytes(row.peak_mb),
            _fmt(row.tau2, ".6g"),
            _fmt(row.estimate, ".6g"),
            fmt_ratio(row.ratio),
            row.note,
        )
        for row in rows
    ]
    return markdown_table(header, body)


def target_checks(rows: Sequence[EngineRow]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for the engine targets (issues 7 and 14); ``None``: not measured."""
    by = {(row.k, row.name): row for row in rows}
    reml = f"{OURS} REML"
    checks: list[tuple[str, str, bool | None]] = []
    small = by.get((1_000, reml))
    if small:
        checks.append(
            ("REML k = 1,000 under 1 ms", fmt_seconds(small.seconds), small.seconds < 1e-3)
        )
    meta = by.get((1_000, "metafor rma"))
    if meta:
        ok = None if meta.ratio is None else meta.ratio >= 100
        checks.append(
            (
                "REML k = 1,000 at least 100x faster than metafor",
                fmt_ratio(meta.ratio) if meta.ratio else meta.note,
                ok,
            )
        )
    tiny = by.get((20, reml))
    if tiny:
        checks.append(
            ("REML + HKSJ k = 20 at most 50 us", fmt_seconds(tiny.seconds), tiny.seconds <= 50e-6)
        )
    for k in sorted({row.k for row in rows}):
        statsmodels = by.get((k, "statsmodels combine_effects"))
        if statsmodels and statsmodels.ratio is not None:
            checks.append(
                (
                    f"PM k = {k:,} at least as fast as statsmodels",
                    fmt_ratio(statsmodels.ratio),
                    statsmodels.ratio >= 1.0,
                )
            )
    big = by.get((1_000_000, reml))
    if big:
        checks.append(
            ("REML k = 1,000,000 under 1.5 s", fmt_seconds(big.seconds), big.seconds < 1.5)
        )
        checks.append(
            ("REML k = 1,000,000 under 300 MB", f"{big.peak_mb:.0f} MB", big.peak_mb < 300)
        )
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--k",
        default=",".join(str(k) for k in KS),
        help="comma-separated study counts (default: %(default)s)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET_SECONDS,
        help="seconds of timed fits per implementation and k",
    )
    parser.add_argument("--no-metafor", action="store_true", help="skip Rscript")
    args = parser.parse_args(argv)
    ks = [int(k.replace("_", "")) for k in args.k.split(",")]
    rows = run_engine(
        ks, budget=args.budget, with_metafor=not args.no_metafor, log=lambda m: print(m, flush=True)
    )
    print()
    print(render(rows))
    print()
    for target, measured, met in target_checks(rows):
        print(f"{'met' if met else 'MISSED' if met is False else 'n/a'}: {target}: {measured}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
