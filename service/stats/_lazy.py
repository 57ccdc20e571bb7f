"""``scipy.stats`` and ``scipy.optimize``, imported on first use.

Every process that imports the service pays for its imports: each uvicorn worker, each
``lma`` command, each delivery or conclusions worker (the test suite starts ~40). Importing
``scipy.stats`` costs ~0.5 s of CPU and ``scipy.optimize`` ~0.13 s more than scipy.special,
which the effect sizes need anyway. Only the sequential monitoring, the optimal information
size and Begg's test use the first (the normal distribution, Kendall's tau), and only the
root-finding of a few estimators and intervals the second (``brentq``), so they ask for them
when they run (issue 24).
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType


@cache
def scipy_stats() -> ModuleType:
    """The ``scipy.stats`` module (imported the first time it is asked for)."""
    return importlib.import_module("scipy.stats")


@cache
def scipy_optimize() -> ModuleType:
    """The ``scipy.optimize`` module (imported the first time it is asked for)."""
    return importlib.import_module("scipy.optimize")
