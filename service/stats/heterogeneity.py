"""Q-profile confidence intervals for tau2, tau, I2 and H2 (metafor's ``confint.rma.uni``).

The Q-profile method (Viechtbauer 2007) inverts the generalised Q-statistic
``Q(tau2) = sum w_i(tau2) (y_i - mu_hat(tau2))^2`` with ``w_i(tau2) = 1 / (v_i + tau2)``, which
decreases in tau2 and follows a chi-squared distribution with k - p df at the true tau2:

* the lower bound solves ``Q(tau2) = qchisq(1 - alpha/2, k - p)`` (0 when ``Q(0)`` is below it);
* the upper bound solves ``Q(tau2) = qchisq(alpha/2, k - p)`` (0 when ``Q(0)`` is below it, in
  which case the interval is metafor's "null set", reported as ``(0, 0)``).

I2 and H2 bounds follow from the tau2 bounds through metafor's typical within-study variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from service.stats import _distributions as dist
from service.stats._inputs import FloatArray
from service.stats._lazy import scipy_optimize
from service.stats._wls import Projection
from service.stats.estimators import Tau2Estimator
from service.stats.models import RandomEffectsFit

# Bracket for the root search; metafor's default tau2.max is max(100, 10 tau2), extended if needed.
_UPPER_START = 100.0
_ROOT_XTOL = 1e-13
_ROOT_MAX_ITER = 1000


@dataclass(frozen=True, slots=True)
class HeterogeneityIntervals:
    """Q-profile intervals at ``level``; ``i2`` in percent."""

    level: float
    tau2: tuple[float, float]
    tau: tuple[float, float]
    i2: tuple[float, float]
    h2: tuple[float, float]


def heterogeneity_intervals(fit: RandomEffectsFit) -> HeterogeneityIntervals | None:
    """Q-profile intervals for a random-effects fit, as ``confint(rma(yi, vi, ...))``.

    ``None`` for a single study or the equal-effects model (no random-effects component). The
    interval does not depend on the tau2 estimator, only on the data and ``fit.level``.
    """
    if fit.k < 2 or fit.estimator is Tau2Estimator.EE:
        return None
    X = np.ones((fit.k, 1))
    lower, upper = q_profile_tau2(fit.yi, fit.vi, X, fit.level)
    vt = _typical_variance(fit.vi)
    return HeterogeneityIntervals(
        level=fit.level,
        tau2=(lower, upper),
        tau=(math.sqrt(lower), math.sqrt(upper)),
        i2=(100.0 * lower / (vt + lower), 100.0 * upper / (vt + upper)),
        h2=(lower / vt + 1.0, upper / vt + 1.0),
    )


def q_profile_tau2(
    y: FloatArray, v: FloatArray, X: FloatArray, level: float
) -> tuple[float, float]:
    """Q-profile bounds for tau2 in the model ``y = X b + u + e`` (needs ``k > p``)."""
    df = X.shape[0] - X.shape[1]
    alpha = 1.0 - level
    crit_upper = dist.chi2_upper_quantile(alpha / 2.0, df)
    crit_lower = dist.chi2_upper_quantile(1.0 - alpha / 2.0, df)
    q_zero = _generalised_q(y, v, X, 0.0)
    lower = 0.0 if q_zero < crit_upper else _solve(y, v, X, crit_upper)
    upper = 0.0 if q_zero < crit_lower else _solve(y, v, X, crit_lower)
    return lower, upper


def _generalised_q(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """``Q(tau2)``: the weighted residual sum of squares with weights ``1 / (vi + tau2)``."""
    return Projection.build(X, 1.0 / (v + tau2)).quad(y)


def _solve(y: FloatArray, v: FloatArray, X: FloatArray, target: float) -> float:
    """The tau2 at which ``Q(tau2) = target``, given ``Q(0) >= target`` (Q decreases in tau2)."""

    def excess(tau2: float) -> float:
        return _generalised_q(y, v, X, tau2) - target

    upper = _UPPER_START
    while excess(upper) > 0.0:
        upper *= 10.0
    root = scipy_optimize().brentq(excess, 0.0, upper, xtol=_ROOT_XTOL, maxiter=_ROOT_MAX_ITER)
    return float(root)


def _typical_variance(v: FloatArray) -> float:
    """``(k - 1) sum(w) / ((sum w)^2 - sum(w^2))``, ``w = 1 / vi`` (Higgins and Thompson 2002)."""
    w = 1.0 / v
    sum_w = float(np.sum(w))
    return (v.size - 1) * sum_w / (sum_w**2 - float(np.dot(w, w)))
