"""``python -m bench.cli_startup``: how long ``lma --help`` takes to start (target 0.5 s).

The median wall time of ``lma --help`` in a new process over ``RUNS`` runs after a warm-up
(the first run fills the OS page cache), beside a bare ``python -c pass`` on the same machine:
the difference is what the command's own imports cost. Issue 26: it took about 5 s when the
parser imported every command's dependencies (SQLAlchemy, the use cases, numpy, scipy, rich).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.timing import fmt_seconds, median, repeat

RUNS = 15
TARGET_SECONDS = 0.5
LMA = Path(sys.executable).with_name("lma")


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True)


def measure(runs: int = RUNS) -> dict[str, float]:
    """Median seconds of ``lma --help``, ``lma --version`` and a bare interpreter."""
    return {
        "lma --help": median(repeat(lambda: _run([str(LMA), "--help"]), runs)),
        "lma --version": median(repeat(lambda: _run([str(LMA), "--version"]), runs)),
        "python -c pass": median(repeat(lambda: _run([sys.executable, "-c", "pass"]), runs)),
    }


def main() -> int:
    figures = measure()
    for name, seconds in figures.items():
        print(f"{name}: {fmt_seconds(seconds)}")
    met = figures["lma --help"] <= TARGET_SECONDS
    print(f"target lma --help <= {TARGET_SECONDS:g} s: {'met' if met else 'missed'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
