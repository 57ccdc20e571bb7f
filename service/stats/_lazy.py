"""``scipy.stats``, imported on first use.

Importing it costs ~0.5 s of CPU (scipy.special and scipy.optimize, which the fits need
anyway, ~0.3 s together), and every process that imports the service pays for its imports:
each uvicorn worker, each ``lma`` command, each delivery or conclusions worker. Only the
sequential monitoring, the optimal information size and Begg's test use it (the normal
distribution and Kendall's tau), so they ask for it when they run (issue 24: the test suite
starts ~40 such processes).
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType


@cache
def scipy_stats() -> ModuleType:
    """The ``scipy.stats`` module (imported the first time it is asked for)."""
    return importlib.import_module("scipy.stats")
