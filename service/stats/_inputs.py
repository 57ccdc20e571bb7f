"""Validation of the arrays and options handed to the model fitters (done once, at the boundary)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from service.stats.errors import StatsInputError

FloatArray = NDArray[np.float64]


def as_vector(values: ArrayLike, field: str) -> FloatArray:
    """A finite one-dimensional float array, or :class:`StatsInputError` naming ``field``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"{field} must be numeric", field=field) from exc
    if array.ndim != 1:
        raise StatsInputError(f"{field} must be one-dimensional", field=field)
    if not np.isfinite(array).all():  # the method skips np.all's dispatch: hot per study
        raise StatsInputError(f"{field} must be finite (no NaN or infinity)", field=field)
    return array


def as_studies(yi: ArrayLike, vi: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Effect sizes and sampling variances: finite, same length, at least one, ``vi > 0``."""
    y = as_vector(yi, "yi")
    v = as_vector(vi, "vi")
    if y.size == 0:
        raise StatsInputError("at least one study is needed", field="yi")
    if v.size != y.size:
        raise StatsInputError(f"vi has {v.size} values but yi has {y.size}", field="vi")
    if (v <= 0.0).any():
        raise StatsInputError("sampling variances must be positive", field="vi")
    return y, v


def check_options(level: float, tau2: float | None, tol: float, max_iter: int) -> None:
    """Confidence level in (0, 1), a fixed tau2 (if any) finite and >= 0, a usable solver setup."""
    if not (isinstance(level, int | float) and 0.0 < level < 1.0):
        raise StatsInputError("level must lie strictly between 0 and 1", field="level")
    if tau2 is not None and not (math.isfinite(tau2) and tau2 >= 0.0):
        raise StatsInputError("a fixed tau2 must be finite and non-negative", field="tau2")
    if not (math.isfinite(tol) and tol > 0.0):
        raise StatsInputError("tol must be positive", field="tol")
    if max_iter < 1:
        raise StatsInputError("max_iter must be at least 1", field="max_iter")
