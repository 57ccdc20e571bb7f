"""Every leave-one-out fit of the intercept-only model at once, for the non-iterative estimators.

The moment estimators (DL, HE, HS, HSk, SJ) and the equal-effects model need only a few sums
over the studies: taking study ``i`` out subtracts its terms (Welford's downdate, for the
weighted sum of squares ``Q`` as for the plain one), so every ``tau2(-i)`` and ``Q(-i)`` come
in O(k) in all. The pooled estimates with each row's own tau2 come from
:func:`service.stats._row_sums.deleted_row_sums`. The formulas are those of
:mod:`service.stats.estimators` and :func:`service.stats.models.fit_random_effects`
(metafor's rma.uni), written for all rows at once.

A downdate subtracts from a sum; where that loses more than about 4 of 16 digits (the deleted
study held nearly all of a sum's weight, or its residual), or a result is not finite, the row is
flagged for an exact refit instead (:attr:`DeletedFits.refit`). ML, REML, EB and PM iterate to
their tau2 and are not handled here (``None``): callers refit those once per study.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.stats import _distributions as dist
from service.stats._inputs import FloatArray
from service.stats._row_sums import Flags, RowSums, deleted_row_sums
from service.stats._wls import KNHA_RSS_FLOOR, dot
from service.stats.estimators import CiMethod, Tau2Estimator

NON_ITERATIVE = frozenset(
    {
        Tau2Estimator.EE,
        Tau2Estimator.DL,
        Tau2Estimator.HE,
        Tau2Estimator.HS,
        Tau2Estimator.HSK,
        Tau2Estimator.SJ,
    }
)
# Where a downdated sum keeps less than this fraction of the full one, digits were lost.
KEPT = 1e-4


@dataclass(frozen=True, slots=True)
class DeletedFits:
    """Row ``i``: the model fitted without study ``i``, as :class:`RandomEffectsFit` reports it.

    ``s2w`` is the Knapp-Hartung factor (1 unless HKSJ applies it). Rows where ``refit`` is
    True lost precision and hold no usable numbers: refit them.
    """

    estimate: FloatArray
    se: FloatArray
    ci_lower: FloatArray
    ci_upper: FloatArray
    tau2: FloatArray
    i2: FloatArray
    q: FloatArray
    s2w: FloatArray
    refit: Flags


@dataclass(frozen=True, slots=True)
class _Downdated:
    """The equal-effects sums without each study: weight, squared weight, Q and tr(P)."""

    sum_w: FloatArray
    q: FloatArray
    trace: FloatArray
    exact: Flags


def fast_leave_one_out(
    y: FloatArray,
    v: FloatArray,
    estimator: Tau2Estimator,
    ci_method: CiMethod,
    level: float,
    deadline: float | None = None,
) -> DeletedFits | None:
    """All k leave-one-out fits of ``rma(yi, vi, method = estimator, test = ci_method)``.

    ``None`` when the estimator iterates, when k < 3 (a deletion leaves one study, fitted as a
    single study) or when a weight ``1 / vi`` overflows: refit then.
    """
    if estimator not in NON_ITERATIVE or y.size < 3:
        return None
    # Overflow here (extreme weights) must not abort the analysis: rows it touches come out
    # non-finite or fail a precision check, and are refitted, which decides what they are.
    with np.errstate(all="ignore"):
        return _fast(y, v, estimator, ci_method, level, deadline)


def _fast(
    y: FloatArray,
    v: FloatArray,
    estimator: Tau2Estimator,
    ci_method: CiMethod,
    level: float,
    deadline: float | None,
) -> DeletedFits | None:
    w = 1.0 / v
    if not np.isfinite(w).all():
        return None
    ee = _downdate_weighted(y, w)
    tau2, exact = _deleted_tau2(y, v, ee, estimator, deadline)
    exact &= ee.exact
    safe_tau2 = np.where(exact & np.isfinite(tau2), tau2, 0.0)
    sums = deleted_row_sums(y, v, safe_tau2, deadline)
    exact &= sums.exact & (sums.rss_exact if ci_method is CiMethod.HKSJ else True)
    return _assemble(ee, safe_tau2, sums, exact, estimator, ci_method, level)


def _downdate_weighted(y: FloatArray, w: FloatArray) -> _Downdated:
    """``sum w``, ``Q`` and ``tr(P)`` of the equal-effects model without each study.

    Welford's (1962) downdate for weights (West 1979): with ``mu`` the weighted mean,
    ``Q(-i) = Q - w_i (y_i - mu)^2 sum(w) / (sum(w) - w_i)``.
    """
    sum_w = float(w.sum())
    mu = dot(w, y) / sum_w
    c = y - mu
    q = dot(w, c * c)
    sum_ww = dot(w, w)
    kept_w, kept_ww = sum_w - w, sum_ww - w * w
    q_kept = q - w * c * c * sum_w / kept_w
    trace = kept_w - kept_ww / kept_w
    exact = (
        (kept_w >= KEPT * sum_w)
        & (kept_ww >= KEPT * sum_ww)
        & (q_kept >= KEPT * q)
        & (trace >= KEPT * kept_w)
    )
    return _Downdated(kept_w, np.maximum(q_kept, 0.0), trace, exact)


def _downdate_plain(y: FloatArray) -> tuple[FloatArray, Flags]:
    """The unweighted residual sum of squares without each study, and where it is exact."""
    k = y.size
    d = y - float(np.mean(y))
    rss = dot(d, d)
    kept = rss - d * d * k / (k - 1)
    return np.maximum(kept, 0.0), kept >= KEPT * rss


def _deleted_tau2(
    y: FloatArray,
    v: FloatArray,
    ee: _Downdated,
    estimator: Tau2Estimator,
    deadline: float | None,
) -> tuple[FloatArray, Flags]:
    """tau2 without each study, by the formulas of :mod:`service.stats.estimators`."""
    k = y.size - 1
    df = k - 1
    every = np.ones(y.size, dtype=bool)
    if estimator is Tau2Estimator.EE:
        return np.zeros(y.size), every
    if estimator is Tau2Estimator.DL:
        return np.maximum(0.0, (ee.q - df) / ee.trace), every
    if estimator in (Tau2Estimator.HS, Tau2Estimator.HSK):
        scale = k / df if estimator is Tau2Estimator.HSK else 1.0
        return np.maximum(0.0, (scale * ee.q - k) / ee.sum_w), every
    rss, exact = _downdate_plain(y)
    if estimator is Tau2Estimator.HE:
        sum_v = float(v.sum())
        kept_v = sum_v - v
        tau2 = np.maximum(0.0, (rss - (kept_v - kept_v / k)) / df)
        return tau2, exact & (kept_v >= KEPT * sum_v)
    return _sidik_jonkman(y, v, rss / k, exact, deadline)


def _sidik_jonkman(
    y: FloatArray, v: FloatArray, tau0: FloatArray, exact: Flags, deadline: float | None
) -> tuple[FloatArray, Flags]:
    """``tau0 Q(tau0) / (k - 1)``: Q with each row's own starting value ``tau0``."""
    df = y.size - 2
    sums = deleted_row_sums(y, v, tau0, deadline)
    tau2 = np.maximum(0.0, tau0 * sums.rss / df)
    return tau2, exact & sums.exact & sums.rss_exact


def _assemble(
    ee: _Downdated,
    tau2: FloatArray,
    sums: RowSums,
    exact: Flags,
    estimator: Tau2Estimator,
    ci_method: CiMethod,
    level: float,
) -> DeletedFits:
    """Standard errors, intervals and I2 of every row, as ``models._assemble`` computes one."""
    df = tau2.size - 2  # k - 1 studies in each fit
    s2w = np.ones(tau2.size)
    if ci_method is CiMethod.HKSJ:
        s2w = np.where(sums.rss > KNHA_RSS_FLOOR, sums.rss / df, 1.0)
    se = np.sqrt(s2w / sums.sum_w)
    z = ci_method is CiMethod.Z
    critical = dist.normal_critical(level) if z else dist.t_critical(level, df)
    if estimator is Tau2Estimator.EE:
        i2 = np.where(ee.q <= df, 0.0, 100.0 * (ee.q - df) / np.where(ee.q > 0, ee.q, 1.0))
    else:
        i2 = 100.0 * tau2 / (df / ee.trace + tau2)
    mu = sums.estimate
    columns = (mu, se, mu - critical * se, mu + critical * se, tau2, i2, ee.q, s2w)
    finite = np.logical_and.reduce([np.isfinite(column) for column in columns])
    return DeletedFits(*columns, refit=~(exact & finite))
