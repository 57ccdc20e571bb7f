"""Three-level random-effects model: effects nested in studies (metafor's rma.mv).

``fit_three_level(yi, vi, cluster)`` reproduces
``rma.mv(yi, V, random = ~ 1 | cluster / es_id, method = "REML" | "ML")`` of metafor 3.8-1, with
``V = diag(vi)`` or, given ``rho``, vcalc's working covariance (see :mod:`._blocks`). Steps:

1. The marginal covariance of cluster i is ``V_i + sigma2_1 J + sigma2_2 I`` (Konstantopoulos 2011;
   Cheung 2014): ``sigma2_1`` between clusters, ``sigma2_2`` between effects within a cluster.
2. Both components maximise the (restricted) log-likelihood by Fisher scoring on the score and the
   expected information (Harville 1977; Viechtbauer 2005 for the one-component case), kept >= 0.
3. The estimate is the GLS mean with its model-based SE and z inference (metafor's default).
4. Profile-likelihood CIs of each component: the values where twice the drop of the profiled
   log-likelihood reaches ``qchisq(level, 1)``, as ``confint(res)`` (0 if the bound is not reached).
5. I2 at each level: ``sigma2_j / (sigma2_1 + sigma2_2 + typical)``, with the typical sampling
   variance ``(k - 1) / tr(P)``, P from the sampling covariance alone (Cheung 2014; metafor's site).
6. Q test of the sampling covariance alone (``QE``) and likelihood-ratio tests against the two-level
   models without each component, as ``anova(res, res0)`` (chi-squared, 1 df, not halved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

from service.stats import _distributions as dist
from service.stats._blocks import Blocks, make_blocks
from service.stats._lazy import scipy_optimize
from service.stats._multilevel_lik import Likelihood, evaluate, sampling_only
from service.stats.errors import ConvergenceError, StatsInputError
from service.stats.shared_groups import SharedGroups

LOG_2PI = math.log(2.0 * math.pi)


class MultilevelMethod(StrEnum):
    """Estimation of the variance components, named as metafor's ``method``."""

    REML = "REML"
    ML = "ML"


@dataclass(frozen=True, slots=True)
class LikelihoodRatio:
    """``anova(full, reduced)``: statistic, chi-squared (1 df) p-value, reduced log-likelihood."""

    statistic: float
    p_value: float
    loglik_reduced: float


@dataclass(frozen=True, slots=True)
class ThreeLevelFit:
    """A fitted three-level model, with the numbers ``rma.mv`` and ``confint`` report.

    ``sigma2`` is ``(between clusters, within clusters)``; ``i2`` the same levels in percent.
    ``sigma2_ci`` holds ``(lower, upper)`` per component; an upper bound is ``None`` when the
    profile does not reach the critical value below ``1e6`` (never, in practice). ``rho`` is the
    assumed within-cluster sampling correlation (``None``: independent sampling errors).
    """

    k: int
    n_clusters: int
    method: MultilevelMethod
    rho: float | None
    level: float
    estimate: float
    se: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    sigma2: tuple[float, float]
    sigma2_ci: tuple[tuple[float, float | None], tuple[float, float | None]]
    i2: tuple[float, float]
    q: float
    q_df: int
    q_p_value: float
    loglik: float
    lrt_within: LikelihoodRatio
    lrt_between: LikelihoodRatio
    converged: bool
    iterations: int


def fit_three_level(
    yi: ArrayLike,
    vi: ArrayLike,
    cluster: ArrayLike,
    *,
    method: MultilevelMethod = MultilevelMethod.REML,
    rho: float | None = None,
    groups: SharedGroups | None = None,
    level: float = 0.95,
    profile: bool = True,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> ThreeLevelFit:
    """Fit ``rma.mv(yi, V, random = ~ 1 | cluster / es_id)``: every effect is its own level-2 unit.

    Parameters
    ----------
    yi, vi
        Effect sizes and their sampling variances.
    cluster
        Each effect's study (cluster) label; effects of one label share the level-3 random effect.
    method
        REML (default, as metafor) or ML.
    rho
        Assumed correlation of sampling errors within a cluster (vcalc's construction), or ``None``.
    groups
        The groups each effect compares (vcalc's ``obs``, ``grp1``, ``grp2``, ``w1``, ``w2``):
        effects sharing a group, e.g. arms against one control, get vcalc's correlation
        (:mod:`.shared_groups`); ``rho`` then applies between effects on different ``obs`` only.
    profile
        Compute the profile-likelihood CIs of both components (``confint(res)``; the costly part).
    tol, max_iter
        Fisher scoring stops when no component moves by more than ``tol * (1 + sigma2)``.

    Raises
    ------
    StatsInputError
        Bad inputs, fewer than 2 effects, or a level that is not in (0, 1).
    ConvergenceError
        Fisher scoring did not converge within ``max_iter`` iterations.
    """
    blocks = make_blocks(yi, vi, cluster, rho=rho, groups=groups)
    return fit_blocks(
        blocks, method=method, rho=rho, level=level, profile=profile, tol=tol, max_iter=max_iter
    )


def fit_blocks(
    blocks: Blocks,
    *,
    method: MultilevelMethod = MultilevelMethod.REML,
    rho: float | None = None,
    level: float = 0.95,
    profile: bool = True,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> ThreeLevelFit:
    """:func:`fit_three_level` on prepared blocks (see :func:`._blocks.make_blocks`)."""
    if not 0.0 < level < 1.0:
        raise StatsInputError("level must lie strictly between 0 and 1", field="level")
    if blocks.k < 2:
        raise StatsInputError("a three-level model needs at least 2 effects", field="yi")
    reml = method is MultilevelMethod.REML
    best, iterations = maximise(blocks, _start(blocks), (None, None), reml, tol, max_iter)
    return _assemble(blocks, best, iterations, method, rho, level, profile, tol, max_iter)


def _start(blocks: Blocks) -> tuple[float, float]:
    """Starting values: half the excess of the variance of the effects over their mean vi."""
    excess = float(np.var(blocks.yi, ddof=1)) - float(np.mean(blocks.vi)) if blocks.k > 1 else 0.0
    start = max(excess, 0.01 * float(np.mean(blocks.vi))) / 2.0
    return start, start


def maximise(
    blocks: Blocks,
    start: tuple[float, float],
    fixed: tuple[float | None, float | None],
    reml: bool,
    tol: float,
    max_iter: int,
) -> tuple[Likelihood, int]:
    """Fisher scoring for the free components (``fixed`` pins a component), with step halving."""
    theta = np.array([f if f is not None else s for f, s in zip(fixed, start, strict=True)])
    free = np.array([f is None for f in fixed])
    current = evaluate(blocks, float(theta[0]), float(theta[1]), reml)
    for iteration in range(1, max_iter + 1):
        step = _scoring_step(current, free, theta)
        proposal, step_size = theta + step, 1.0
        while True:
            s1, s2 = np.maximum(proposal, 0.0).tolist()
            candidate = evaluate(blocks, s1, s2, reml)
            if candidate.loglik >= current.loglik - 1e-12 or step_size < 1e-8:
                break
            step_size /= 2.0
            proposal = theta + step_size * step
        moved = np.abs(np.maximum(proposal, 0.0) - theta)
        theta, current = np.maximum(proposal, 0.0), candidate
        if bool(np.all(moved <= tol * (1.0 + theta))):
            return current, iteration
    raise ConvergenceError(f"three-level fit did not converge in {max_iter} iterations")


def _scoring_step(lik: Likelihood, free: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Newton step on the expected information over the free components not stuck at zero."""
    active = free & ~((theta <= 0.0) & (lik.score <= 0.0))
    step = np.zeros(2)
    if active.any():
        info = lik.information[np.ix_(active, active)]
        # lstsq: with one effect per cluster the components are not separately identified and the
        # information is singular; the minimum-norm step then moves both equally.
        step[active] = np.linalg.lstsq(info, lik.score[active], rcond=1e-10)[0]
    return step


def _assemble(
    blocks: Blocks,
    best: Likelihood,
    iterations: int,
    method: MultilevelMethod,
    rho: float | None,
    level: float,
    profile: bool,
    tol: float,
    max_iter: int,
) -> ThreeLevelFit:
    reml = method is MultilevelMethod.REML
    z_crit = dist.normal_critical(level)
    sigma2 = (best.sigma2[0], best.sigma2[1])
    reduced = [
        maximise(blocks, sigma2, fixed, reml, tol, max_iter)[0].loglik
        for fixed in ((None, 0.0), (0.0, None))
    ]
    q, typical = sampling_only(blocks)
    pi_half = z_crit * math.sqrt(best.se**2 + sum(sigma2))
    cis = (
        tuple(_profile_ci(blocks, best, j, level, reml, tol, max_iter) for j in (0, 1))
        if profile
        else ((math.nan, None), (math.nan, None))
    )
    return ThreeLevelFit(
        k=blocks.k,
        n_clusters=len(blocks.clusters),
        method=method,
        rho=rho,
        level=level,
        estimate=best.estimate,
        se=best.se,
        statistic=best.estimate / best.se,
        p_value=dist.normal_two_sided_p(best.estimate / best.se),
        ci_lower=best.estimate - z_crit * best.se,
        ci_upper=best.estimate + z_crit * best.se,
        pi_lower=best.estimate - pi_half,
        pi_upper=best.estimate + pi_half,
        sigma2=sigma2,
        sigma2_ci=(cis[0], cis[1]),
        i2=(
            100.0 * sigma2[0] / (sum(sigma2) + typical),
            100.0 * sigma2[1] / (sum(sigma2) + typical),
        ),
        q=q,
        q_df=blocks.k - 1,
        q_p_value=dist.chi2_sf(q, blocks.k - 1),
        loglik=best.loglik,
        lrt_within=_lrt(best.loglik, reduced[0]),
        lrt_between=_lrt(best.loglik, reduced[1]),
        converged=True,
        iterations=iterations,
    )


def _lrt(full: float, reduced: float) -> LikelihoodRatio:
    statistic = max(2.0 * (full - reduced), 0.0)
    return LikelihoodRatio(statistic, dist.chi2_sf(statistic, 1), reduced)


def _profile_ci(
    blocks: Blocks, best: Likelihood, j: int, level: float, reml: bool, tol: float, max_iter: int
) -> tuple[float, float | None]:
    """Profile-likelihood interval of component ``j`` (metafor's ``confint.rma.mv``)."""
    critical = dist.chi2_upper_quantile(1.0 - level, 1)
    estimate = best.sigma2[j]

    def excess(value: float) -> float:
        fixed = (value, None) if j == 0 else (None, value)
        other = best.sigma2[1 - j]
        start = (value, other) if j == 0 else (other, value)
        profiled = maximise(blocks, start, fixed, reml, tol, max_iter)[0]
        return 2.0 * (best.loglik - profiled.loglik) - critical

    lower = 0.0
    if estimate > 0.0 and excess(0.0) > 0.0:
        lower = scipy_optimize().brentq(
            excess, 0.0, estimate, xtol=1e-12 * max(estimate, 1e-8), rtol=1e-12
        )
    upper: float | None = None
    high = max(estimate, 1e-4) * 2.0
    while high < 1e6:
        if excess(high) > 0.0:
            upper = scipy_optimize().brentq(excess, estimate, high, xtol=1e-14, rtol=1e-12)
            break
        high *= 4.0
    return lower, upper
