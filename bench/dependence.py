"""Dependent-effects and Bayesian benchmark (issue 29): ``python -m bench.dependence``.

Times (medians of repeated fits after a warm-up) of: the three-level REML fit of 1,000 effects in
300 studies without and with the profile-likelihood CIs (target 50 ms for the fit), the CR2 test
on top of the CHE fit (target 20 ms), and the Bayesian posterior at k = 50 (target 20 ms); with
metafor's ``rma.mv`` and clubSandwich's ``coef_test`` on the same data when Rscript is present.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.timing import markdown_table
from service.stats._blocks import make_blocks
from service.stats.bayes import fit_bayes
from service.stats.multilevel import fit_three_level
from service.stats.robust import cr2_test, fit_che

R_SCRIPT = """
suppressMessages({library(metafor); library(clubSandwich)})
d <- read.csv("%s")
# CPU (user) seconds, fairer than elapsed time on a shared machine
t1 <- system.time(rma.mv(yi, vi, random = ~ 1 | study / es, data = d, sparse = TRUE))[1]
t2 <- tryCatch({
  V <- vcalc(vi, cluster = study, obs = es, rho = 0.6, data = d)
  res <- rma.mv(yi, V, random = ~ 1 | study / es, data = d)
  system.time(coef_test(res, vcov = "CR2", cluster = d$study))[1]
}, error = function(e) NA)
cat(t1, t2, "\\n")
"""


def _median_ms(call: Callable[[], object], repeats: int = 15) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def dataset(k: int = 1000, studies: int = 300, seed: int = 29) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    study = np.sort(rng.integers(0, studies, k))
    vi = rng.uniform(0.01, 0.1, k)
    yi = (
        0.3
        + rng.normal(0, 0.3, studies)[study]
        + rng.normal(0, 0.15, k)
        + rng.normal(0, np.sqrt(vi))
    )
    return yi, vi, study


# (what, measured ms, target ms or None); R's times are CPU seconds, not medians.
Row = tuple[str, float | None, float | None]


def run_dependence(log: Callable[[str], None] = print) -> list[Row]:
    """Every timing of the module docstring; metafor's rows only when Rscript is present."""
    log("dependence: three-level, CHE + CR2, Bayesian posterior")
    yi, vi, study = dataset()
    rows: list[Row] = [
        (
            f"three-level REML, 1,000 effects in {len(set(study))} studies",
            _median_ms(lambda: fit_three_level(yi, vi, study, profile=False)),
            50.0,
        ),
        (
            "  with profile-likelihood CIs",
            _median_ms(lambda: fit_three_level(yi, vi, study), repeats=3),
            None,
        ),
    ]
    che = fit_che(yi, vi, study, profile=False)
    blocks = make_blocks(yi, vi, study, rho=0.6)
    rows.append(
        (
            "CR2 on top of the CHE fit",
            _median_ms(lambda: cr2_test(blocks, che.model.sigma2, che.model.estimate)),
            20.0,
        )
    )
    y50, v50, _ = dataset(50, 50)
    rows.append(
        ("Bayesian posterior, k = 50", _median_ms(lambda: fit_bayes(y50, v50, mid=0.2)), 20.0)
    )
    return rows + _metafor_rows(yi, vi, study)


def _metafor_rows(yi: np.ndarray, vi: np.ndarray, study: np.ndarray) -> list[Row]:
    if not shutil.which("Rscript"):
        return []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        es = np.arange(yi.size)
        np.savetxt(
            path, np.c_[yi, vi, study, es], delimiter=",", header="yi,vi,study,es", comments=""
        )
        out = subprocess.run(
            ["Rscript", "-e", R_SCRIPT % path], capture_output=True, text=True, check=True
        ).stdout.split()
    cr2 = None if out[1] == "NA" else 1000 * float(out[1])
    return [
        ("metafor rma.mv, same data (CPU)", 1000 * float(out[0]), None),
        ("clubSandwich coef_test CR2 (CPU)", cr2, None),
    ]


def render(rows: list[Row]) -> str:
    """The rows as a markdown table, with each target met or missed."""

    def status(ms: float | None, target: float | None) -> str:
        if target is None:
            return ""
        if ms is None:
            return "not measured"
        return "met" if ms <= target else "**missed**"

    return markdown_table(
        ("what", "median", "target", "status"),
        [
            (
                what,
                "not run" if ms is None else f"{ms:.1f} ms",
                "" if target is None else f"<= {target:g} ms",
                status(ms, target),
            )
            for what, ms, target in rows
        ],
    )


def main() -> None:
    print(render(run_dependence()))


if __name__ == "__main__":
    main()
