"""Every look of a cumulative meta-analysis at once, for the non-iterative estimators.

Look ``m`` fits the first m + 1 studies (in the order given). The equal-effects sums of each
prefix come from Welford's (1962) running update (West 1979 for weights), which adds and never
subtracts: ``Q``, the plain residual sum of squares and ``tr(P)`` of every prefix in O(k). The
moment estimators' tau2 follow by the formulas of :mod:`service.stats.estimators`; the pooled
estimates with each look's own tau2 are summed directly, in lower-triangular blocks
(:func:`service.stats._row_sums.prefix_row_sums`): O(k^2) terms but no refit and no Python per
term. A look whose ``tr(P)`` cancels (one study holding nearly all the weight), or whose result
is not finite, is flagged for an exact refit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from service.stats import _distributions as dist
from service.stats._deletion import KEPT, NON_ITERATIVE
from service.stats._inputs import FloatArray
from service.stats._row_sums import Flags, prefix_row_sums
from service.stats._wls import KNHA_RSS_FLOOR
from service.stats.estimators import CiMethod, Tau2Estimator


@dataclass(frozen=True, slots=True)
class Looks:
    """Look ``m`` (the first m + 1 studies), for m >= 1; row 0 (one study) holds no numbers."""

    estimate: FloatArray
    se: FloatArray
    ci_lower: FloatArray
    ci_upper: FloatArray
    tau2: FloatArray
    i2: FloatArray
    refit: Flags


def fast_cumulative(
    y: FloatArray,
    v: FloatArray,
    estimator: Tau2Estimator,
    ci_method: CiMethod,
    level: float,
    deadline: float | None = None,
) -> Looks | None:
    """The fits to every prefix of ``y`` (already in order); ``None``: refit every look."""
    if estimator not in NON_ITERATIVE or y.size < 3:
        return None
    with np.errstate(all="ignore"):
        w = 1.0 / v
        if not np.isfinite(w).all():
            return None
        return _looks(y, v, w, estimator, ci_method, level, deadline)


def _running(y: FloatArray, w: FloatArray) -> FloatArray:
    """``Q`` of every prefix, ``sum w (y - mean_w)^2``, by Welford's weighted update."""
    q = np.empty(y.size)
    sum_w = mean = total = 0.0
    for i, (yi, wi) in enumerate(zip(y.tolist(), w.tolist(), strict=True)):
        sum_w += wi
        delta = yi - mean
        mean += wi * delta / sum_w
        total += wi * delta * (yi - mean)
        q[i] = total
    return np.maximum(q, 0.0)


def _looks(
    y: FloatArray,
    v: FloatArray,
    w: FloatArray,
    estimator: Tau2Estimator,
    ci_method: CiMethod,
    level: float,
    deadline: float | None,
) -> Looks:
    n = np.arange(1, y.size + 1, dtype=float)  # studies in each look
    df = n - 1
    sum_w, sum_ww = np.cumsum(w), np.cumsum(w * w)
    q = _running(y, w)
    trace = sum_w - sum_ww / sum_w
    exact = trace >= KEPT * sum_w
    tau2 = _tau2(y, v, q, sum_w, trace, n, estimator, deadline)
    safe_tau2 = np.where(np.isfinite(tau2), tau2, 0.0)
    sums = prefix_row_sums(y, v, safe_tau2, deadline)
    s2w = np.ones(y.size)
    if ci_method is CiMethod.HKSJ:
        s2w = np.where(sums.rss > KNHA_RSS_FLOOR, sums.rss / df, 1.0)
    se = np.sqrt(s2w / sums.sum_w)
    if ci_method is CiMethod.Z:
        critical = np.full(y.size, dist.normal_critical(level))
    else:
        critical = special.stdtrit(np.maximum(df, 1.0), 0.5 + level / 2.0)
    if estimator is Tau2Estimator.EE:
        i2 = np.where(q <= df, 0.0, 100.0 * (q - df) / np.where(q > 0, q, 1.0))
    else:
        i2 = 100.0 * tau2 / (df / trace + tau2)
    mu = sums.estimate
    columns = (mu, se, mu - critical * se, mu + critical * se, tau2, i2)
    finite = np.logical_and.reduce([np.isfinite(column) for column in columns])
    refit = ~(exact & finite)
    refit[0] = False  # one study: the caller fits it as a single study
    return Looks(*columns, refit=refit)


def _tau2(
    y: FloatArray,
    v: FloatArray,
    q: FloatArray,
    sum_w: FloatArray,
    trace: FloatArray,
    n: FloatArray,
    estimator: Tau2Estimator,
    deadline: float | None,
) -> FloatArray:
    """tau2 of every look, by the formulas of :mod:`service.stats.estimators`."""
    df = n - 1
    if estimator is Tau2Estimator.EE:
        return np.zeros(y.size)
    if estimator is Tau2Estimator.DL:
        return np.maximum(0.0, (q - df) / trace)
    if estimator in (Tau2Estimator.HS, Tau2Estimator.HSK):
        scale = n / df if estimator is Tau2Estimator.HSK else 1.0
        return np.maximum(0.0, (scale * q - n) / sum_w)
    rss = _running(y, np.ones(y.size))
    if estimator is Tau2Estimator.HE:
        sum_v = np.cumsum(v)
        return np.maximum(0.0, (rss - (sum_v - sum_v / n)) / df)
    tau0 = rss / n  # Sidik-Jonkman's start, then one step
    return np.maximum(0.0, tau0 * prefix_row_sums(y, v, tau0, deadline).rss / df)
