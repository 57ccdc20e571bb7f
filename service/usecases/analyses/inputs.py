"""The input every analysis section reads: effects and options, parsed once.

Its own module, below both :mod:`.service` (which builds it) and :mod:`.sections` (which
reads it), so that neither imports the other back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.stats.estimators import CiMethod, Tau2Estimator


@dataclass(frozen=True, slots=True)
class AnalysisInput:
    """The effects to analyse, with the options every section needs."""

    labels: tuple[str, ...]
    yi: np.ndarray
    vi: np.ndarray
    groups: tuple[str | None, ...]
    moderators: tuple[float | None, ...]
    estimator: Tau2Estimator
    ci_method: CiMethod
    level: float
    deadline: float | None = None
