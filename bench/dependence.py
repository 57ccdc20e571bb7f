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


def main() -> None:
    yi, vi, study = dataset()
    print(
        f"three-level REML, k = 1000 in {len(set(study))} studies: "
        f"{_median_ms(lambda: fit_three_level(yi, vi, study, profile=False)):.1f} ms"
    )
    print(
        f"  with profile-likelihood CIs: "
        f"{_median_ms(lambda: fit_three_level(yi, vi, study), repeats=3):.1f} ms"
    )
    che = fit_che(yi, vi, study, profile=False)
    blocks = make_blocks(yi, vi, study, rho=0.6)
    print(
        f"CR2 on top of the CHE fit: "
        f"{_median_ms(lambda: cr2_test(blocks, che.model.sigma2, che.model.estimate)):.1f} ms"
    )
    y50, v50, _ = dataset(50, 50)
    print(f"Bayesian posterior, k = 50: {_median_ms(lambda: fit_bayes(y50, v50, mid=0.2)):.1f} ms")
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "d.csv"
            es = np.arange(yi.size)
            np.savetxt(
                path, np.c_[yi, vi, study, es], delimiter=",", header="yi,vi,study,es", comments=""
            )
            out = subprocess.run(
                ["Rscript", "-e", R_SCRIPT % path], capture_output=True, text=True, check=True
            ).stdout.split()
            cr2 = "not run" if out[1] == "NA" else f"{1000 * float(out[1]):.1f} ms"
            print(f"metafor rma.mv (CPU): {1000 * float(out[0]):.1f} ms; clubSandwich CR2: {cr2}")


if __name__ == "__main__":
    main()
