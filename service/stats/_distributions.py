"""Tail probabilities and quantiles of the reference distributions, straight from ``scipy.special``.

scipy.stats distribution objects cost tens of microseconds per call (argument checking,
broadcasting, generic dispatch); the special functions below cost about one, which matters on the
hot path of a fit that should take well under a millisecond.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

FloatArray = NDArray[np.float64]


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic, ``2 * pnorm(-|z|)``."""
    return float(2.0 * special.ndtr(-abs(z)))


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value of a Student t statistic, ``2 * pt(-|t|, df)``."""
    return float(2.0 * special.stdtr(df, -abs(t)))


def chi2_sf(x: float, df: float) -> float:
    """Upper tail of the chi-squared distribution, ``pchisq(x, df, lower.tail = FALSE)``."""
    return float(special.chdtrc(df, max(x, 0.0)))


def f_sf(x: float, df1: float, df2: float) -> float:
    """Upper tail of the F distribution, ``pf(x, df1, df2, lower.tail = FALSE)``."""
    return float(special.fdtrc(df1, df2, max(x, 0.0)))


def normal_critical(level: float) -> float:
    """Two-sided critical value ``qnorm(1 - (1 - level) / 2)``."""
    return float(special.ndtri(0.5 + level / 2.0))


def t_critical(level: float, df: float) -> float:
    """Two-sided critical value ``qt(1 - (1 - level) / 2, df)``."""
    return float(special.stdtrit(df, 0.5 + level / 2.0))


def chi2_upper_quantile(tail: float, df: float) -> float:
    """Quantile with upper-tail probability ``tail``: ``qchisq(tail, df, lower.tail = FALSE)``."""
    return float(special.chdtri(df, tail))


def normal_two_sided_ps(z: FloatArray) -> FloatArray:
    """Elementwise :func:`normal_two_sided_p`."""
    result: FloatArray = 2.0 * special.ndtr(-np.abs(z))
    return result


def t_two_sided_ps(t: FloatArray, df: float) -> FloatArray:
    """Elementwise :func:`t_two_sided_p`."""
    result: FloatArray = 2.0 * special.stdtr(df, -np.abs(t))
    return result
