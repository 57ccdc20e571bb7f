"""What a server process imports when it starts (issue 24: every test server pays for it).

No timing assertions (they flake): the tests check which modules a fresh process has loaded
once ``service.main`` is imported, and that what loads the rest later computes the same. One
new interpreter serves both tests (seconds each).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from service.plots.prisma import prisma_diagram
from service.stats.sequential import group_sequential_boundaries, required_information_size
from tests.plots.test_prisma import DATA

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("startup_imports")]

# Start the app, say what loaded, compute a boundary (which loads scipy.stats and
# scipy.optimize), then draw a plot (which loads matplotlib) to stdout.
CODE = """\
import sys
import service.main
print(*(name in sys.modules for name in ("matplotlib", "scipy.stats", "scipy.optimize")))
from service.stats.sequential import group_sequential_boundaries, required_information_size
print(repr(required_information_size(0.2, alpha=0.05, power=0.8, diversity=0.25)))
print(repr(group_sequential_boundaries([0.3, 0.6, 1.0]).boundaries), flush=True)
from service.plots.data import PrismaData
from service.plots.prisma import prisma_diagram
sys.stdout.buffer.write(prisma_diagram(PrismaData(**{fields!r})))
"""


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """What the new process printed: what had loaded, the information size, the boundaries,
    the plot."""
    database = tmp_path_factory.mktemp("startup") / "startup.sqlite3"
    code = CODE.format(fields=dataclasses.asdict(DATA))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    return done.stdout.split(b"\n", 3)


def test_starting_the_app_leaves_matplotlib_to_the_first_plot(started: list[bytes]) -> None:
    """``import service.main`` loads no matplotlib (over a second); a plot drawn afterwards,
    in the same process, is the same bytes as one drawn where matplotlib loaded first."""
    loaded, _, _, svg = started
    assert loaded.split()[0] == b"False"
    assert svg == prisma_diagram(DATA)


def test_starting_the_app_leaves_scipy_stats_and_optimize_to_the_first_computation(
    started: list[bytes],
) -> None:
    """``import service.main`` loads neither ``scipy.stats`` nor ``scipy.optimize`` (~0.6 s of
    CPU in every server, worker and ``lma`` process); what needs them then computes what it
    computes here (the boundaries are found with ``brentq``)."""
    loaded, size, boundaries, _ = started
    assert loaded.split()[1:] == [b"False", b"False"]
    assert size.decode() == repr(
        required_information_size(0.2, alpha=0.05, power=0.8, diversity=0.25)
    )
    assert boundaries.decode() == repr(group_sequential_boundaries([0.3, 0.6, 1.0]).boundaries)
