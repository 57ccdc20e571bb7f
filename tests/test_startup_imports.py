"""What a server process imports when it starts (issue 24: every test server pays for it).

No timing assertions (they flake): the test checks which modules a fresh process has loaded.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.plots.prisma import prisma_diagram
from service.stats.sequential import group_sequential_boundaries, required_information_size
from tests.plots.test_prisma import DATA

# Start the app, say whether matplotlib loaded, then draw a plot (which loads it) to stdout.
CODE = """\
import sys
import service.main
print("matplotlib" in sys.modules, flush=True)
from service.plots.data import PrismaData
from service.plots.prisma import prisma_diagram
sys.stdout.buffer.write(prisma_diagram(PrismaData(**{fields!r})))
"""


@pytest.mark.slow  # a new interpreter importing the app: seconds, so not in make test-fast
def test_starting_the_app_leaves_matplotlib_to_the_first_plot(tmp_path: Path) -> None:
    """``import service.main`` loads no matplotlib (over a second); a plot drawn afterwards,
    in the same process, is the same bytes as one drawn where matplotlib loaded first."""
    code = CODE.format(fields=dataclasses.asdict(DATA))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'startup.sqlite3'}"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    loaded, _, svg = done.stdout.partition(b"\n")
    assert loaded == b"False"
    assert svg == prisma_diagram(DATA)


# Start the app, say whether scipy.stats loaded, then compute a boundary (which loads it).
STATS_CODE = """\
import sys
import service.main
print("scipy.stats" in sys.modules, flush=True)
from service.stats.sequential import group_sequential_boundaries, required_information_size
print(repr(required_information_size(0.2, alpha=0.05, power=0.8, diversity=0.25)))
print(repr(group_sequential_boundaries([0.3, 0.6, 1.0]).boundaries))
"""


@pytest.mark.slow  # a new interpreter importing the app: seconds, so not in make test-fast
def test_starting_the_app_leaves_scipy_stats_to_the_first_computation(tmp_path: Path) -> None:
    """``import service.main`` loads no ``scipy.stats`` (~0.5 s of CPU in every server, worker
    and ``lma`` process); what needs it then computes what it computes here."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'startup.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "-c", STATS_CODE], capture_output=True, env=env, check=True, text=True
    )
    loaded, size, boundaries = done.stdout.splitlines()
    assert loaded == "False"
    assert size == repr(required_information_size(0.2, alpha=0.05, power=0.8, diversity=0.25))
    assert boundaries == repr(group_sequential_boundaries([0.3, 0.6, 1.0]).boundaries)
