"""Mixed-effects meta-regression, as metafor's ``rma(yi, vi, mods = ...)`` (3.8-1), in O(k p^2).

The design matrix ``X`` (k x p) includes the intercept column; :func:`design_with_intercept` and
:func:`design_from_factor` build the usual ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from service.stats import _distributions as dist
from service.stats._inputs import FloatArray, as_studies, check_options
from service.stats._wls import Projection, i2_h2, knha_factor, residual_heterogeneity
from service.stats.errors import StatsInputError
from service.stats.estimators import CiMethod, Tau2Estimate, Tau2Estimator, estimate_tau2
from service.stats.models import KNHA_DEGENERATE, KNHA_EQUAL_EFFECTS


@dataclass(frozen=True, slots=True)
class MetaRegressionFit:
    """A fitted mixed-effects meta-regression with the numbers metafor's rma.uni reports.

    ``qm`` tests all coefficients but the intercept (all of them when there is no intercept column
    or only one column); with ``hksj``/``t`` it is metafor's F statistic on ``(qm_df, k - p)`` df.
    ``r2`` is metafor's pseudo-R2 in percent (Raudenbush 2009), ``None`` when it is undefined.
    ``covariance`` is the (scaled, for ``hksj``) covariance matrix of the coefficients.
    """

    k: int
    p: int
    estimator: Tau2Estimator
    ci_method: CiMethod
    level: float
    coefficients: FloatArray
    se: FloatArray
    statistics: FloatArray
    p_values: FloatArray
    ci_lower: FloatArray
    ci_upper: FloatArray
    df: int | None
    tau2: float
    se_tau2: float | None
    qm: float
    qm_df: int
    qm_p_value: float
    qe: float
    qe_df: int
    qe_p_value: float | None
    r2: float | None
    i2: float | None
    h2: float | None
    hat: FloatArray
    converged: bool
    iterations: int
    covariance: FloatArray
    weights: FloatArray
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Coefficients:
    """Coefficient estimates with their inference (shared by the coefficient table and QM)."""

    beta: FloatArray
    cov: FloatArray
    se: FloatArray
    statistics: FloatArray
    p_values: FloatArray
    critical: float
    df: int | None


def design_with_intercept(moderator: ArrayLike) -> FloatArray:
    """The design ``[1, x]`` of ``mods = ~ x``."""
    x = np.asarray(moderator, dtype=np.float64).reshape(-1)
    return np.column_stack([np.ones(x.size), x])


def design_from_factor(groups: Sequence[str]) -> tuple[FloatArray, tuple[str, ...]]:
    """Treatment coding of ``mods = ~ factor(groups)``: intercept plus one dummy per other level.

    Levels are sorted (as R's ``factor()`` orders character vectors); the first is the reference.
    """
    labels = [str(g) for g in groups]
    levels = tuple(sorted(set(labels)))
    codes = np.array([levels.index(g) for g in labels], dtype=np.intp)
    X = (codes[:, None] == np.arange(len(levels))[None, :]).astype(np.float64)
    X[:, 0] = 1.0
    return X, levels


def fit_meta_regression(
    yi: ArrayLike,
    vi: ArrayLike,
    X: ArrayLike,
    *,
    estimator: Tau2Estimator = Tau2Estimator.REML,
    ci_method: CiMethod = CiMethod.Z,
    level: float = 0.95,
    tau2: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> MetaRegressionFit:
    """Fit ``rma(yi, vi, mods = X, intercept = FALSE, method = estimator, test = ci_method)``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances (finite, ``vi > 0``).
    X : array_like
        k x p design matrix of full column rank, including the intercept column.
    estimator, ci_method, level, tau2, tol, max_iter
        As for :func:`service.stats.models.fit_random_effects`; the t and Knapp-Hartung
        inference use ``k - p`` degrees of freedom.

    Returns
    -------
    MetaRegressionFit
    """
    y, v = as_studies(yi, vi)
    check_options(level, tau2, tol, max_iter)
    estimator, ci_method = Tau2Estimator(estimator), CiMethod(ci_method)
    design = _as_design(X, y.size, estimator, tau2)
    y_centred = y - np.mean(y)
    fixed = None if estimator is Tau2Estimator.EE else tau2
    est = estimate_tau2(y_centred, v, design, estimator, fixed=fixed, tol=tol, max_iter=max_iter)
    r2 = _pseudo_r2(y_centred, v, design, est, estimator, tol, max_iter)
    return _assemble(y, v, design, est, r2, estimator, ci_method, level)


def _as_design(X: ArrayLike, k: int, estimator: Tau2Estimator, tau2: float | None) -> FloatArray:
    """A finite k x p matrix leaving at least one residual degree of freedom."""
    try:
        design = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsInputError("X must be a numeric matrix", field="X") from exc
    if design.ndim == 1:
        design = design[:, None]
    if design.ndim != 2 or design.shape[0] != k or design.shape[1] < 1:
        raise StatsInputError(f"X must be a matrix with {k} rows", field="X")
    if not np.all(np.isfinite(design)):
        raise StatsInputError("X must be finite", field="X")
    if design.shape[1] >= k:
        raise StatsInputError("more coefficients than the studies can estimate", field="X")
    return design


def _assemble(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    est: Tau2Estimate,
    r2: float | None,
    estimator: Tau2Estimator,
    ci_method: CiMethod,
    level: float,
) -> MetaRegressionFit:
    """Weighted fit at the estimated tau2, Wald tests, heterogeneity and pseudo-R2."""
    notes = list(est.warnings)
    proj = Projection.build(X, 1.0 / (v + est.tau2))
    coef = _coefficients(proj, y, ci_method, level, notes)
    if ci_method is CiMethod.HKSJ and estimator is Tau2Estimator.EE:
        notes.append(KNHA_EQUAL_EFFECTS)
    qm, qm_df, qm_p = _omnibus(coef, _tested(X))
    y_centred = y - np.mean(y)
    het = residual_heterogeneity(y_centred, v, X)
    i2, h2 = i2_h2(est.tau2, het, equal_effects=estimator is Tau2Estimator.EE)
    crit = coef.critical
    return MetaRegressionFit(
        k=y.size,
        p=X.shape[1],
        estimator=estimator,
        ci_method=ci_method,
        level=level,
        coefficients=coef.beta,
        se=coef.se,
        statistics=coef.statistics,
        p_values=coef.p_values,
        ci_lower=coef.beta - crit * coef.se,
        ci_upper=coef.beta + crit * coef.se,
        df=coef.df,
        tau2=est.tau2,
        se_tau2=est.se,
        qm=qm,
        qm_df=qm_df,
        qm_p_value=qm_p,
        qe=het.q,
        qe_df=het.df,
        qe_p_value=het.p_value,
        r2=r2,
        i2=i2,
        h2=h2,
        hat=proj.leverage / proj.w,
        converged=est.converged,
        iterations=est.iterations,
        covariance=coef.cov,
        weights=proj.w,
        warnings=tuple(notes),
    )


def _coefficients(
    proj: Projection, y: FloatArray, ci_method: CiMethod, level: float, notes: list[str]
) -> _Coefficients:
    """Estimates ``(X'WX)^{-1} X'W y`` with z, Knapp-Hartung (``s2w`` scaled) or t inference."""
    k, p = proj.X.shape
    beta = proj.coefficients(y)
    cov = proj.covariance
    if ci_method is CiMethod.HKSJ:
        factor = knha_factor(proj.quad(y), k - p)
        if factor is None:
            notes.append(KNHA_DEGENERATE)
        else:
            cov = cov * factor
    se = np.sqrt(np.diag(cov))
    stats = beta / se
    if ci_method is CiMethod.Z:
        p_values = dist.normal_two_sided_ps(stats)
        return _Coefficients(beta, cov, se, stats, p_values, dist.normal_critical(level), None)
    df = k - p
    p_values = dist.t_two_sided_ps(stats, df)
    return _Coefficients(beta, cov, se, stats, p_values, dist.t_critical(level, df), df)


def _tested(X: FloatArray) -> FloatArray | slice:
    """Columns of the omnibus test: all but an intercept in column 0 (metafor's default btt)."""
    if X.shape[1] > 1 and np.all(X[:, 0] == 1.0):
        return slice(1, None)
    return slice(None)


def _omnibus(coef: _Coefficients, tested: FloatArray | slice) -> tuple[float, int, float]:
    """Wald chi-squared QM, or F = QM / m with ``(m, k - p)`` df for t-based inference."""
    b = coef.beta[tested]
    cov = coef.cov[tested, tested]
    qm = float(b @ np.linalg.solve(cov, b))
    m = b.size
    if coef.df is None:
        return qm, m, dist.chi2_sf(qm, m)
    f = qm / m
    return f, m, dist.f_sf(f, m, coef.df)


def _pseudo_r2(
    y_centred: FloatArray,
    v: FloatArray,
    X: FloatArray,
    est: Tau2Estimate,
    estimator: Tau2Estimator,
    tol: float,
    max_iter: int,
) -> float | None:
    """``max(0, 100 (tau2_RE - tau2) / tau2_RE)``, vs the intercept-only model (Raudenbush 2009).

    ``None`` without an intercept, for an intercept-only or equal-effects model, and when the
    intercept-only tau2 is 0 (metafor reports 0 there).
    """
    if estimator is Tau2Estimator.EE or _tested(X) != slice(1, None):
        return None
    ones = np.ones((y_centred.size, 1))
    tau2_re = estimate_tau2(y_centred, v, ones, estimator, tol=tol, max_iter=max_iter).tau2
    if tau2_re <= 0.0:
        return None
    return max(0.0, 100.0 * (tau2_re - est.tau2) / tau2_re)
