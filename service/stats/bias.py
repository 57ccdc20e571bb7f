"""Small-study effects: Egger's regression tests, Begg's rank test, trim-and-fill, fail-safe N.

Every function reproduces metafor 3.8-1 (Viechtbauer 2010): ``regtest()``, ``ranktest()``,
``trimfill()`` and ``fsn()``. Each public function takes effect sizes ``yi`` and sampling variances
``vi`` plus keyword-only options and returns a frozen dataclass (or an ``int`` for fail-safe N).

Degenerate inputs raise :class:`~service.stats.errors.StatsInputError` rather than returning NaN:

* the classic regression test is undefined when the effects lie exactly on a line;
* the regression tests need k >= 3 (a straight line through two points leaves no residual degrees
  of freedom) and at least two distinct variances (otherwise the standard error is collinear with
  the intercept, where metafor stops with "Model matrix no longer of full rank");
* Begg's test needs k >= 2 and Kendall's tau must be defined (not all variances equal, where
  metafor returns NA);
* trim-and-fill needs k >= 3 when the side is estimated, and stops when the estimator would trim
  every study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from service.stats._inputs import FloatArray, as_studies
from service.stats._lazy import scipy_stats
from service.stats.errors import ConvergenceError, StatsInputError
from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.models import RandomEffectsFit, fit_random_effects
from service.stats.regression import fit_meta_regression

# R's pKendall divides by gamma(n + 1), which overflows a double beyond n = 170.
_EXACT_KENDALL_MAX_N = 170
# Below this many studies the pairwise sum beats scipy's O(k log k) kendalltau (~0.7 ms fixed cost).
_PAIRWISE_KENDALL_MAX_N = 50
# rma()'s default convergence threshold, which trimfill() uses for its internal fits.
METAFOR_DEFAULT_TOL = 1e-5
# R's lm() declares a column aliased when QR leaves less than 1e-7 of its norm (dqrdc2's tol).
_RANK_TOL = 1e-7
# A residual sum of squares below this share of the total means the regression fits exactly.
_EXACT_FIT_TOL = 1e-20


@dataclass(frozen=True, slots=True)
class EggerTest:
    """Egger's test as a mixed-effects meta-regression on the standard error (metafor default)."""

    statistic: float
    p_value: float
    limit_estimate: float


@dataclass(frozen=True, slots=True)
class EggerClassicTest:
    """Egger et al. (1997): weighted least squares on the standard error, t test on the slope."""

    statistic: float
    p_value: float
    df: int
    limit_estimate: float


@dataclass(frozen=True, slots=True)
class BeggTest:
    """Begg and Mazumdar (1994) rank correlation between standardized effects and variances."""

    kendall_tau: float
    p_value: float


@dataclass(frozen=True, slots=True)
class TrimAndFill:
    """Duval and Tweedie (2000) trim-and-fill: ``k0`` studies imputed on ``side``.

    ``filled_yi`` and ``filled_vi`` hold the input studies (in input order) followed by the
    ``k0`` imputed ones; the estimate, interval and ``tau2`` come from the fit to that data.
    """

    k0: int
    side: str
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    tau2: float
    filled_yi: FloatArray
    filled_vi: FloatArray


def _effects(
    yi: ArrayLike, vi: ArrayLike, *, min_k: int, what: str
) -> tuple[FloatArray, FloatArray]:
    """Validate once (as the model fitters do) and require at least ``min_k`` studies."""
    y, v = as_studies(yi, vi)
    if y.size < min_k:
        raise StatsInputError(f"{what} needs at least {min_k} studies, got {y.size}", field="yi")
    return y, v


def _egger_design(vi: FloatArray) -> FloatArray:
    """Columns (1, sqrt(vi)); refuse them when collinear, as R's ``lm()`` rank check in regtest."""
    sei = np.sqrt(vi)
    if np.linalg.norm(sei - sei.mean()) <= _RANK_TOL * np.linalg.norm(sei):
        raise StatsInputError(
            "all sampling variances are (nearly) equal, so the standard error cannot be a "
            "predictor: the regression test is undefined",
            field="vi",
        )
    return np.column_stack([np.ones_like(sei), sei])


def egger_test(
    yi: ArrayLike, vi: ArrayLike, *, estimator: Tau2Estimator = Tau2Estimator.REML
) -> EggerTest:
    """Egger's regression test in metafor's default form.

    Fits ``rma(yi, vi, mods = ~ sqrt(vi), method = estimator)`` and tests the slope with a z test;
    the intercept is the "limit estimate" (the effect of a study with standard error 0), as in
    metafor's ``regtest(model = "rma", predictor = "sei")``.

    Raises
    ------
    StatsInputError
        If k < 3 or all variances are equal (see the module docstring).
    """
    y, v = _effects(yi, vi, min_k=3, what="Egger's test")
    fit = fit_meta_regression(y, v, _egger_design(v), estimator=estimator)
    return EggerTest(
        statistic=float(fit.statistics[1]),
        p_value=float(fit.p_values[1]),
        limit_estimate=float(fit.coefficients[0]),
    )


def egger_classic_test(yi: ArrayLike, vi: ArrayLike) -> EggerClassicTest:
    """Egger et al. (1997): ``lm(yi ~ sqrt(vi), weights = 1/vi)``, t test on the slope, k - 2 df.

    As metafor's ``regtest(model = "lm")``: the residual variance is estimated (a multiplicative
    dispersion), unlike the mixed-effects form. The intercept is the limit estimate.

    Raises
    ------
    StatsInputError
        If k < 3 or all variances are equal.
    """
    y, v = _effects(yi, vi, min_k=3, what="Egger's test")
    root_w = 1.0 / np.sqrt(v)
    xw = _egger_design(v) * root_w[:, None]
    yw = y * root_w
    coef, *_ = np.linalg.lstsq(xw, yw, rcond=None)
    df = y.size - 2
    resid = yw - xw @ coef
    rss = float(resid @ resid)
    if rss <= _EXACT_FIT_TOL * float(yw @ yw):
        # R's lm() warns "essentially perfect fit" and reports a meaningless t; we refuse instead.
        raise StatsInputError(
            "Egger's test is undefined: the effects lie exactly on a line in their standard errors",
            field="yi",
        )
    cov = np.linalg.inv(xw.T @ xw) * rss / df
    t = float(coef[1] / math.sqrt(cov[1, 1]))
    p = 2.0 * float(special.stdtr(df, -abs(t)))
    return EggerClassicTest(statistic=t, p_value=p, df=df, limit_estimate=float(coef[0]))


def _kendall_s(x: FloatArray, y: FloatArray, denom: float) -> int:
    """Kendall's S = sum over pairs of sign(dx) * sign(dy); ``denom`` is tau-b's denominator.

    Pairwise for a few studies; otherwise from scipy's tau-b, computed in O(k log k) by Knight's
    (1966) algorithm, as ``S = tau_b * denom`` rounded to the integer it is (the rounding error
    is below 1e-4 even at a million studies, where |S| < 5e11).
    """
    if x.size <= _PAIRWISE_KENDALL_MAX_N:
        return sum(
            int(np.sum(np.sign(x[i + 1 :] - x[i]) * np.sign(y[i + 1 :] - y[i])))
            for i in range(x.size - 1)
        )
    return round(float(scipy_stats().kendalltau(x, y).statistic) * denom)


def _tie_sizes(x: FloatArray) -> NDArray[np.int64]:
    """Sizes of the groups of exactly equal values that have more than one member."""
    counts = np.unique(x, return_counts=True)[1].astype(np.int64)
    return counts[counts > 1]


def _mahonian_lower_tail(n: int, q: int) -> float:
    """Probability that a random permutation of n items has at most q inversions.

    The counts obey c_n(j) = sum_{i < n} c_{n-1}(j - i) (R's ``ckendall``); prefix sums make each
    step one vectorised pass over q + 1 values, and dividing by ``size`` at each step keeps the
    row a probability distribution (c_n / n!) instead of counts that approach 170! (R keeps the
    counts in doubles and divides at the end; the two agree to rounding).
    """
    row = np.zeros(q + 1)
    row[0] = 1.0
    for size in range(2, n + 1):
        prefix = np.cumsum(row)
        row = prefix.copy()
        row[size:] -= prefix[:-size]
        row /= size
    return float(np.sum(row))


def _kendall_exact_p(s: int, n: int) -> float:
    """Two-sided exact p of Kendall's tau without ties, as R's ``cor.test(exact = TRUE)``.

    R takes T = number of concordant pairs and doubles the smaller tail; by the symmetry of the
    null distribution the upper tail P(T >= q) equals P(T <= n(n-1)/2 - q).
    """
    pairs = n * (n - 1) // 2
    q = (s + pairs) // 2
    tail = pairs - q if 4 * q > n * (n - 1) else q
    return min(2.0 * _mahonian_lower_tail(n, tail), 1.0)


def _kendall_normal_p(s: int, n: int, tx: NDArray[np.int64], ty: NDArray[np.int64]) -> float:
    """Two-sided p from the normal approximation with R's tie-corrected variance of S."""
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(tx * (tx - 1) * (2 * tx + 5)))
    vu = float(np.sum(ty * (ty - 1) * (2 * ty + 5)))
    v1 = float(np.sum(tx * (tx - 1))) * float(np.sum(ty * (ty - 1)))
    v2 = float(np.sum(tx * (tx - 1) * (tx - 2))) * float(np.sum(ty * (ty - 1) * (ty - 2)))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    return 2.0 * float(special.ndtr(-abs(s) / math.sqrt(var_s)))


def _kendall_test(x: FloatArray, y: FloatArray) -> BeggTest:
    """Kendall's tau-b and R's ``cor.test(method = "kendall", exact = TRUE)`` p-value."""
    n = x.size
    tx, ty = _tie_sizes(x), _tie_sizes(y)
    pairs = n * (n - 1) / 2
    denom = math.sqrt((pairs - np.sum(tx * (tx - 1)) / 2) * (pairs - np.sum(ty * (ty - 1)) / 2))
    if denom == 0:
        raise StatsInputError(
            "Kendall's tau is undefined: all variances (or all standardized effects) are equal",
            field="vi",
        )
    s = _kendall_s(x, y, denom)
    ties = tx.size > 0 or ty.size > 0
    if ties or n > _EXACT_KENDALL_MAX_N:
        p = _kendall_normal_p(s, n, tx, ty)
    else:
        p = _kendall_exact_p(s, n)
    return BeggTest(kendall_tau=s / denom, p_value=p)


def begg_test(yi: ArrayLike, vi: ArrayLike) -> BeggTest:
    """Begg and Mazumdar's rank correlation test, as metafor's ``ranktest()``.

    Standardizes the deviations from the equal-effects estimate, ``(yi - b) / sqrt(vi - var(b))``,
    and correlates them with ``vi`` by Kendall's tau-b. The p-value is exact (R's
    ``cor.test(exact = TRUE)``) when there are no ties in either variable, and from the normal
    approximation with tie-corrected variance otherwise. Deviation: for k > 170 R's exact
    computation overflows and metafor's result depends on that overflow; we use the normal
    approximation there.

    Raises
    ------
    StatsInputError
        If k < 2, tau is undefined (all variances equal), or the variances are so extreme
        that the standardized deviations are not finite.
    """
    y, v = _effects(yi, vi, min_k=2, what="Begg's test")
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    deviation = y - theta
    # Rounding leaves a few ulps of noise where an effect equals the pooled estimate (all effects
    # equal, say); those deviations are zero, ties, not a spurious perfect rank correlation.
    noise = 16.0 * np.finfo(float).eps * max(float(np.max(np.abs(y))), abs(theta))
    deviation[np.abs(deviation) <= noise] = 0.0
    y_star = deviation / np.sqrt(v - 1.0 / np.sum(w))
    if not np.all(np.isfinite(y_star)):
        # Variances so extreme that vi - var(b) rounds to zero or below: nothing to rank.
        raise StatsInputError(
            "Begg's test is undefined: the variances are too extreme to standardize the effects",
            field="vi",
        )
    return _kendall_test(y_star, v)


def failsafe_n(yi: ArrayLike, vi: ArrayLike, *, alpha: float = 0.05) -> int:
    """Rosenthal's (1979) fail-safe N, as metafor's ``fsn(type = "Rosenthal")``.

    With Stouffer's combined z = |sum(yi / sqrt(vi))| / sqrt(k) and the one-sided critical value
    z_alpha, N = ceiling(max(0, k (z / z_alpha)^2 - k)): the number of null studies that would
    bring the combined one-sided p-value up to ``alpha``.

    Raises
    ------
    StatsInputError
        If ``alpha`` is not in (0, 0.5) (the critical value must be positive).
    """
    y, v = _effects(yi, vi, min_k=1, what="fail-safe N")
    if not 0.0 < alpha < 0.5:
        raise StatsInputError("alpha must lie in (0, 0.5)", field="alpha")
    k = y.size
    z = abs(float(np.sum(y / np.sqrt(v)))) / math.sqrt(k)
    return max(0, math.ceil(k * (z / float(special.ndtri(1.0 - alpha))) ** 2 - k))


def _ranks_first(values: FloatArray) -> FloatArray:
    """Ranks 1..k with ties broken by position, as R's ``rank(ties.method = "first")``."""
    ranks = np.empty(values.size)
    ranks[np.argsort(values, kind="stable")] = np.arange(1, values.size + 1)
    return ranks


def _snap_noise(centred: FloatArray, y: FloatArray, beta: float) -> FloatArray:
    """``centred`` with deviations of a few ulps set to 0: where every effect equals the
    estimate, rounding noise would otherwise decide signs and ranks, and k0 could flip for ever.
    """
    noise = 16.0 * np.finfo(float).eps * max(float(np.max(np.abs(y))), abs(beta))
    return np.where(np.abs(centred) <= noise, 0.0, centred)


def _l0(centred: FloatArray) -> int:
    """Duval and Tweedie's L0 estimate of the number of missing studies (rounded, >= 0)."""
    k = centred.size
    ranks = _ranks_first(np.abs(centred))
    s_r = float(np.sum(ranks[centred > 0]))
    return max(0, round((4 * s_r - k * (k + 1)) / (2 * k - 1)))


def _estimate_side(y: FloatArray, v: FloatArray, estimator: Tau2Estimator) -> str:
    """metafor's default side: "right" if the slope of rma(yi, vi, mods = sqrt(vi)) is negative."""
    try:
        design = _egger_design(v)
    except StatsInputError as exc:
        raise StatsInputError(
            "cannot choose the side with equal variances: pass side='left' or 'right'", field="side"
        ) from exc
    slope = fit_meta_regression(y, v, design, estimator=estimator).coefficients[1]
    return "right" if slope < 0 else "left"


def _trim(
    ys: FloatArray, vs: FloatArray, estimator: Tau2Estimator, max_iter: int, tol: float
) -> tuple[int, float]:
    """Iterate L0 on data sorted so that the suspected missing studies would be on the left.

    Returns ``k0`` and the estimate from the trimmed data that produced it (trimfill.rma.uni).
    """
    k, k0, previous = ys.size, 0, -1
    beta = math.nan
    for _ in range(max_iter):
        if k0 == previous:
            return k0, beta
        if k0 >= k:
            raise StatsInputError("trim-and-fill would trim every study", field="yi")
        previous = k0
        beta = fit_random_effects(ys[: k - k0], vs[: k - k0], estimator=estimator, tol=tol).estimate
        k0 = _l0(_snap_noise(ys - beta, ys, beta))
    if k0 == previous:
        return k0, beta
    raise ConvergenceError(f"trim-and-fill did not converge in {max_iter} iterations")


def _fill(
    y: FloatArray, v: FloatArray, side: str, estimator: Tau2Estimator, max_iter: int, tol: float
) -> tuple[int, FloatArray, FloatArray]:
    """``k0`` and the filled data: the input followed by the mirror images ``2 b - yi``."""
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * y, kind="stable")  # R's sort(): stable, ties keep input order
    ys, vs = sign * y[order], v[order]
    k0, beta = _trim(ys, vs, estimator, max_iter, tol)
    filled_yi = np.concatenate([y, sign * (2.0 * beta - ys[ys.size - k0 :])])
    return k0, filled_yi, np.concatenate([v, vs[vs.size - k0 :]])


def trim_and_fill(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    estimator: Tau2Estimator = Tau2Estimator.REML,
    ci_method: CiMethod = CiMethod.Z,
    level: float = 0.95,
    side: str | None = None,
    max_iter: int = 100,
    tol: float = METAFOR_DEFAULT_TOL,
    fitted: RandomEffectsFit | None = None,
) -> TrimAndFill:
    """Duval and Tweedie's trim-and-fill with the L0 estimator, as metafor's ``trimfill()``.

    When ``side`` is None it is "right" if the slope of ``rma(yi, vi, mods = sqrt(vi), method =
    estimator)`` is negative, else "left". Studies are sorted, the ``k0`` most extreme ones on the
    opposite side are trimmed and the pooled estimate b re-fitted until ``k0`` is stable; then
    their mirror images ``2 b - yi`` (with the same ``vi``) are added and the filled data re-fitted
    with ``estimator``.

    ``tol`` is the convergence tolerance of the trimmed and filled fits. metafor fits them with
    rma's default control (threshold 1e-5), whatever the tolerance of the model it was given; the
    default reproduces its numbers (to about 1e-15; with tol=1e-10 the iterative estimators differ
    from metafor by up to ~1e-5 relative). Deviation: metafor's final fit always uses the z test
    and 95% level; this one uses ``ci_method`` and ``level`` (identical with the defaults).

    ``fitted`` is the model already fitted to ``yi``, ``vi`` (same estimator, interval method
    and level). When nothing is filled (k0 = 0) it is returned as it is, as trimfill.rma.uni
    does (``res <- x``), rather than refitted at trim-and-fill's own tolerance: the "adjusted"
    numbers are then exactly the unadjusted ones.

    Raises
    ------
    StatsInputError
        If k < 2, k < 3 with ``side`` None, equal variances with ``side`` None, or every study
        would be trimmed.
    ConvergenceError
        If ``k0`` has not settled after ``max_iter`` iterations.
    """
    y, v = _effects(yi, vi, min_k=2 if side else 3, what="trim-and-fill")
    if side is None:
        side = _estimate_side(y, v, estimator)
    elif side not in ("left", "right"):
        raise StatsInputError("side must be 'left' or 'right'", field="side")
    k0, filled_yi, filled_vi = _fill(y, v, side, estimator, max_iter, tol)
    fit = fitted
    if k0 > 0 or fit is None:
        fit = fit_random_effects(
            filled_yi, filled_vi, estimator=estimator, ci_method=ci_method, level=level, tol=tol
        )
    return TrimAndFill(
        k0=k0,
        side=side,
        estimate=fit.estimate,
        se=fit.se,
        ci_lower=fit.ci_lower,
        ci_upper=fit.ci_upper,
        tau2=fit.tau2,
        filled_yi=filled_yi,
        filled_vi=filled_vi,
    )
