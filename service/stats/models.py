"""The random-effects model: pooled estimate, heterogeneity, prediction interval (metafor rma.uni).

``fit_random_effects(yi, vi)`` reproduces ``rma(yi, vi, method = ..., test = ...)`` of metafor 3.8-1
together with ``predict()`` for the prediction interval; everything is O(k).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from service.stats import _distributions as dist
from service.stats._inputs import FloatArray, as_studies, check_options
from service.stats._wls import Heterogeneity, dot, i2_h2, knha_factor, residual_heterogeneity
from service.stats.estimators import CiMethod, Tau2Estimate, Tau2Estimator, estimate_tau2

SINGLE_STUDY = "only one study: the pooled result is that study's own; heterogeneity not estimable"
SINGLE_STUDY_Z = "only one study: {method} needs k >= 2, normal (z) inference used instead"
KNHA_DEGENERATE = (
    "all estimates are equal: the Knapp-Hartung factor is 0, the unscaled variance used"
)
KNHA_EQUAL_EFFECTS = "Knapp-Hartung adjustment is not meant for the equal-effects model"


@dataclass(frozen=True, slots=True)
class RandomEffectsFit:
    """A fitted random-effects (or equal-effects) model, with the numbers metafor reports.

    ``df`` is ``None`` for z inference; ``i2`` is in percent. Undefined quantities (heterogeneity
    with one study, a prediction interval for the equal-effects model) are ``None``, never NaN.
    ``weights`` are the un-normalised inverse-variance weights ``1 / (vi + tau2)``.
    """

    k: int
    estimator: Tau2Estimator
    ci_method: CiMethod
    level: float
    estimate: float
    se: float
    statistic: float
    p_value: float
    df: int | None
    ci_lower: float
    ci_upper: float
    pi_lower: float | None
    pi_upper: float | None
    tau2: float
    se_tau2: float | None
    tau: float
    i2: float | None
    h2: float | None
    q: float | None
    q_df: int
    q_p_value: float | None
    weights: FloatArray
    yi: FloatArray
    vi: FloatArray
    converged: bool
    iterations: int
    heterogeneity_estimable: bool
    warnings: tuple[str, ...]

    @property
    def weights_percent(self) -> FloatArray:
        """The weights as percentages of their sum (metafor's ``weights()``)."""
        result: FloatArray = 100.0 * self.weights / np.sum(self.weights)
        return result


@dataclass(frozen=True, slots=True)
class _Inference:
    """Standard error, test statistic, p-value, critical value and df of one estimate."""

    se: float
    statistic: float
    p_value: float
    critical: float
    df: int | None


def fit_random_effects(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    estimator: Tau2Estimator = Tau2Estimator.REML,
    ci_method: CiMethod = CiMethod.Z,
    level: float = 0.95,
    tau2: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> RandomEffectsFit:
    """Fit ``rma(yi, vi, method = estimator, test = ci_method, level = 100 * level)``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (finite, ``vi > 0``).
    estimator : Tau2Estimator
        Between-study variance estimator (see :mod:`.estimators`); ``EE`` fixes tau2 at 0.
    ci_method : CiMethod
        ``z``; ``hksj`` (Knapp and Hartung 2003, metafor's ``test = "knha"``, not truncated);
        ``t`` (t distribution with k - 1 df, no scaling).
    level : float
        Confidence level of the confidence and prediction intervals.
    tau2 : float, optional
        A fixed between-study variance: estimation is skipped (ignored by ``EE``, as in metafor).
    tol, max_iter : float, int
        Convergence tolerance on tau2 and iteration limit of the iterative estimators.

    Returns
    -------
    RandomEffectsFit
        With one study: that study's estimate and ``sqrt(vi)``, no heterogeneity, z inference.
    """
    y, v = as_studies(yi, vi)
    check_options(level, tau2, tol, max_iter)
    estimator, ci_method = Tau2Estimator(estimator), CiMethod(ci_method)
    if y.size == 1:
        return _single_study(y, v, estimator, ci_method, level, tau2)
    ones = np.ones((y.size, 1))
    y_centred = y - np.mean(y)
    fixed = None if estimator is Tau2Estimator.EE else tau2
    est = estimate_tau2(y_centred, v, ones, estimator, fixed=fixed, tol=tol, max_iter=max_iter)
    het = residual_heterogeneity(y_centred, v, ones)
    return _assemble(y, v, est, het, estimator, ci_method, level)


def _assemble(
    y: FloatArray,
    v: FloatArray,
    est: Tau2Estimate,
    het: Heterogeneity,
    estimator: Tau2Estimator,
    ci_method: CiMethod,
    level: float,
) -> RandomEffectsFit:
    """Pool with ``w = 1 / (vi + tau2)`` and collect everything rma.uni and predict() report."""
    w = 1.0 / (v + est.tau2)
    sum_w = float(np.sum(w))
    mu = dot(w, y) / sum_w
    notes = list(est.warnings)
    inf = _inference(mu, 1.0 / sum_w, dot(w, (y - mu) ** 2), y.size, ci_method, level, notes)
    if ci_method is CiMethod.HKSJ and estimator is Tau2Estimator.EE:
        notes.append(KNHA_EQUAL_EFFECTS)
    equal = estimator is Tau2Estimator.EE
    i2, h2 = i2_h2(est.tau2, het, equal_effects=equal)
    half_pi = inf.critical * math.sqrt(inf.se**2 + est.tau2)
    return RandomEffectsFit(
        k=y.size,
        estimator=estimator,
        ci_method=ci_method,
        level=level,
        estimate=mu,
        se=inf.se,
        statistic=inf.statistic,
        p_value=inf.p_value,
        df=inf.df,
        ci_lower=mu - inf.critical * inf.se,
        ci_upper=mu + inf.critical * inf.se,
        pi_lower=None if equal else mu - half_pi,
        pi_upper=None if equal else mu + half_pi,
        tau2=est.tau2,
        se_tau2=est.se,
        tau=math.sqrt(est.tau2),
        i2=i2,
        h2=h2,
        q=het.q,
        q_df=het.df,
        q_p_value=het.p_value,
        weights=w,
        yi=y,
        vi=v,
        converged=est.converged,
        iterations=est.iterations,
        heterogeneity_estimable=True,
        warnings=tuple(notes),
    )


def _inference(
    estimate: float,
    variance: float,
    rss: float,
    k: int,
    ci_method: CiMethod,
    level: float,
    notes: list[str],
) -> _Inference:
    """z, Knapp-Hartung or t inference for an intercept-only model (``rss`` for the KH factor)."""
    if ci_method is CiMethod.Z:
        se = math.sqrt(variance)
        return _Inference(
            se,
            estimate / se,
            dist.normal_two_sided_p(estimate / se),
            dist.normal_critical(level),
            None,
        )
    if ci_method is CiMethod.HKSJ:
        factor = knha_factor(rss, k - 1)
        if factor is None:
            notes.append(KNHA_DEGENERATE)
        else:
            variance *= factor
    se = math.sqrt(variance)
    df = k - 1
    return _Inference(
        se, estimate / se, dist.t_two_sided_p(estimate / se, df), dist.t_critical(level, df), df
    )


def _single_study(
    y: FloatArray,
    v: FloatArray,
    estimator: Tau2Estimator,
    ci_method: CiMethod,
    level: float,
    tau2: float | None,
) -> RandomEffectsFit:
    """One study: its own estimate, ``se = sqrt(vi + tau2)`` (tau2 0 unless fixed), z inference."""
    notes = [SINGLE_STUDY]
    if ci_method is not CiMethod.Z:
        notes.append(SINGLE_STUDY_Z.format(method=ci_method.value))
    fixed = 0.0 if tau2 is None or estimator is Tau2Estimator.EE else tau2
    se = math.sqrt(float(v[0]) + fixed)
    mu = float(y[0])
    crit = dist.normal_critical(level)
    return RandomEffectsFit(
        k=1,
        estimator=estimator,
        ci_method=CiMethod.Z,
        level=level,
        estimate=mu,
        se=se,
        statistic=mu / se,
        p_value=dist.normal_two_sided_p(mu / se),
        df=None,
        ci_lower=mu - crit * se,
        ci_upper=mu + crit * se,
        pi_lower=None,
        pi_upper=None,
        tau2=fixed,
        se_tau2=None,
        tau=math.sqrt(fixed),
        i2=None,
        h2=None,
        q=None,
        q_df=0,
        q_p_value=None,
        weights=1.0 / (v + fixed),
        yi=y,
        vi=v,
        converged=True,
        iterations=0,
        heterogeneity_estimable=False,
        warnings=tuple(notes),
    )
