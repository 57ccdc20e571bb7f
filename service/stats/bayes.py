"""Bayesian random-effects meta-analysis: the exact posterior by quadrature over tau (bayesmeta).

The normal-normal hierarchical model ``y_i ~ N(mu, v_i + tau^2)`` with a flat or normal prior on
``mu`` and a proper prior on ``tau`` (:mod:`._bayes_priors`), computed as R's bayesmeta computes it
(Roever 2020, J Stat Softw 93(6), sections 2.3-2.4), without MCMC:

1. Given tau, mu's posterior is normal (conjugate): precision ``P = sum w_i + 1/s^2`` with
   ``w_i = 1/(v_i + tau^2)``, mean ``m = (sum w_i y_i + mu_0/s^2) / P`` (``1/s^2 = 0`` if flat).
2. tau's marginal posterior is its prior times the marginal likelihood
   ``prod w_i^{1/2} P^{-1/2} exp(-(sum w_i (y_i - m)^2 + (mu_0 - m)^2 / s^2) / 2)``.
3. It is integrated over ``x = log tau`` by composite Gauss-Legendre: a coarse scan finds the
   region holding all but ``e^-40`` of the mass, fine panels (a fraction of the posterior SD of x)
   cover its centre and coarser ones its tails.
4. mu's posterior and the predictive distribution of a new study's effect are mixtures of normals
   over the nodes (``N(m, 1/P)`` and ``N(m, 1/P + tau^2)``); their quantiles solve the mixture CDF.
5. ``P(effect > MID)``: the posterior mass of mu beyond the minimal important difference in the
   direction of benefit (``mu > MID``, or ``mu < -MID`` when lower is better).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from service.stats._bayes_priors import (
    NAMED_TAU_PRIORS,
    EffectPrior,
    EffectPriorKind,
    TauPrior,
    TauPriorKind,
)
from service.stats._inputs import FloatArray, as_studies
from service.stats._lazy import scipy_optimize
from service.stats.errors import StatsInputError

__all__ = [
    "NAMED_TAU_PRIORS",
    "BayesFit",
    "EffectPrior",
    "EffectPriorKind",
    "TauPrior",
    "TauPriorKind",
    "fit_bayes",
]

NODES = np.polynomial.legendre.leggauss(10)
COARSE_STEP = 0.25
MASS_CUT = 40.0  # log-density drop below the maximum beyond which the mass is ignored


@dataclass(frozen=True, slots=True)
class Summary:
    """Mean, median and central credible interval of a posterior (or predictive) distribution."""

    mean: float
    median: float
    ci_lower: float
    ci_upper: float


@dataclass(frozen=True, slots=True)
class BayesFit:
    """The posterior of a Bayesian random-effects model.

    ``mu`` and ``predictive`` summarise the effect and a new study's effect; ``tau`` the
    heterogeneity SD. ``p_benefit`` is ``P(effect > 0)`` in the direction of benefit and
    ``p_benefit_gt_mid`` ``P(effect > MID)``; the latter is ``None`` without a MID.
    ``nodes`` is the number of quadrature nodes (1 for a fixed tau).
    """

    k: int
    level: float
    effect_prior: EffectPrior
    tau_prior: TauPrior
    mu: Summary
    mu_sd: float
    tau: Summary
    predictive: Summary
    mid: float | None
    lower_is_better: bool
    p_benefit: float
    p_benefit_gt_mid: float | None
    nodes: int


@dataclass(frozen=True, slots=True)
class _Grid:
    """Nodes in x = log tau with normalised posterior weights and the conditional moments of mu."""

    x: FloatArray
    weight: FloatArray
    mean: FloatArray
    var: FloatArray
    edges: FloatArray  # panel edges in x
    panel_mass: FloatArray  # each panel's share of the posterior mass
    shift: float  # the log-density subtracted before exponentiating, over the normalising constant


def fit_bayes(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    effect_prior: EffectPrior | None = None,
    tau_prior: TauPrior | None = None,
    mid: float | None = None,
    lower_is_better: bool = False,
    level: float = 0.95,
) -> BayesFit:
    """The exact posterior of mu, tau and a new study's effect (see the module docstring).

    Raises
    ------
    StatsInputError
        Bad inputs or prior parameters, or a level outside (0, 1).
    """
    y, v = as_studies(yi, vi)
    effect_prior = effect_prior or EffectPrior()
    tau_prior = tau_prior or TauPrior()
    tau_prior.check()
    if not 0.0 < level < 1.0:
        raise StatsInputError("level must lie strictly between 0 and 1", field="level")
    if mid is not None and not (math.isfinite(mid) and mid >= 0.0):
        raise StatsInputError("the MID must be finite and >= 0", field="mid")
    grid = _grid(y, v, effect_prior, tau_prior)
    tails = ((1.0 - level) / 2.0, 0.5, (1.0 + level) / 2.0)
    mu_q = [_mixture_quantile(grid.mean, grid.var, grid.weight, p) for p in tails]
    pred_var = grid.var + np.exp(2.0 * grid.x)
    pred_q = [_mixture_quantile(grid.mean, pred_var, grid.weight, p) for p in tails]
    mu_mean = float(grid.weight @ grid.mean)
    sign = -1.0 if lower_is_better else 1.0
    return BayesFit(
        k=y.size,
        level=level,
        effect_prior=effect_prior,
        tau_prior=tau_prior,
        mu=Summary(mu_mean, mu_q[1], mu_q[0], mu_q[2]),
        mu_sd=math.sqrt(float(grid.weight @ (grid.var + (grid.mean - mu_mean) ** 2))),
        tau=_tau_summary(grid, y, v, effect_prior, tau_prior, tails),
        predictive=Summary(mu_mean, pred_q[1], pred_q[0], pred_q[2]),
        mid=mid,
        lower_is_better=lower_is_better,
        p_benefit=_beyond(grid, 0.0, sign),
        p_benefit_gt_mid=None if mid is None else _beyond(grid, mid, sign),
        nodes=grid.x.size,
    )


def conditional(
    y: FloatArray, v: FloatArray, tau: FloatArray, prior: EffectPrior
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Given each ``tau``: mu's conditional mean and variance, and the log marginal likelihood."""
    w = 1.0 / (v[None, :] + (tau**2)[:, None])
    precision = w.sum(axis=1) + prior.precision()
    mean = (w @ y + prior.mean * prior.precision()) / precision
    rss = (w * (y[None, :] - mean[:, None]) ** 2).sum(axis=1)
    rss += prior.precision() * (prior.mean - mean) ** 2
    loglik = 0.5 * np.log(w).sum(axis=1) - 0.5 * np.log(precision) - 0.5 * rss
    return mean, 1.0 / precision, loglik


def _log_posterior(
    x: FloatArray, y: FloatArray, v: FloatArray, effect: EffectPrior, tau: TauPrior
) -> tuple[FloatArray, FloatArray, FloatArray]:
    mean, var, loglik = conditional(y, v, np.exp(x), effect)
    return tau.log_density_x(x) + loglik, mean, var


def _grid(y: FloatArray, v: FloatArray, effect: EffectPrior, tau: TauPrior) -> _Grid:
    if tau.kind is TauPriorKind.FIXED:
        mean, var, _ = conditional(y, v, np.array([tau.scale]), effect)
        x = np.array([math.log(tau.scale) if tau.scale > 0 else -math.inf])
        return _Grid(x, np.ones(1), mean, var, np.zeros(2), np.ones(1), 0.0)
    edges = _panel_edges(y, v, effect, tau)
    half = np.diff(edges) / 2.0
    centre = (edges[:-1] + edges[1:]) / 2.0
    x = (centre[:, None] + half[:, None] * NODES[0][None, :]).ravel()
    quad = (half[:, None] * NODES[1][None, :]).ravel()
    log_post, mean, var = _log_posterior(x, y, v, effect, tau)
    top = float(log_post.max())
    weight = quad * np.exp(log_post - top)
    total = float(weight.sum())
    panel_mass = weight.reshape(half.size, -1).sum(axis=1) / total
    return _Grid(x, weight / total, mean, var, edges, panel_mass, top + math.log(total))


def _panel_edges(y: FloatArray, v: FloatArray, effect: EffectPrior, tau: TauPrior) -> FloatArray:
    """Panels over the region that holds the mass: fine near the mode, coarse in the tails."""
    centre = 0.5 * math.log(max(float(np.var(y)) if y.size > 1 else 0.0, float(np.median(v))))
    coarse = np.arange(centre - 30.0, centre + 20.0 + COARSE_STEP, COARSE_STEP)
    if tau.kind is TauPriorKind.LOG_T or tau.kind is TauPriorKind.INVERSE_GAMMA:
        coarse = np.union1d(coarse, np.arange(-40.0, 10.0, COARSE_STEP))
    log_post = _log_posterior(coarse, y, v, effect, tau)[0]
    top = int(np.argmax(log_post))
    inside = np.flatnonzero(log_post > log_post[top] - MASS_CUT)
    low = coarse[max(inside[0] - 1, 0)]
    high = coarse[min(inside[-1] + 1, coarse.size - 1)]
    sd = _laplace_sd(coarse, log_post, top)
    fine = min(COARSE_STEP, sd / 2.0)
    mode = float(coarse[top])
    core_low, core_high = max(low, mode - 12.0 * sd), min(high, mode + 12.0 * sd)
    core = np.linspace(core_low, core_high, max(math.ceil((core_high - core_low) / fine), 1) + 1)
    left = np.linspace(low, core_low, max(math.ceil((core_low - low) / 1.0), 1) + 1)
    right = np.linspace(core_high, high, max(math.ceil((high - core_high) / 1.0), 1) + 1)
    return np.unique(np.concatenate([left, core, right]))


def _laplace_sd(x: FloatArray, log_post: FloatArray, top: int) -> float:
    """SD of x near the mode from the curvature of three coarse points (clipped to [0.005, 1])."""
    if top == 0 or top == x.size - 1:
        return 1.0
    h = x[1] - x[0]
    curvature = (log_post[top - 1] - 2.0 * log_post[top] + log_post[top + 1]) / h**2
    if curvature >= 0.0:
        return 1.0
    return float(min(max(1.0 / math.sqrt(-curvature), 0.005), 1.0))


def _mixture_cdf(value: float, mean: FloatArray, var: FloatArray, weight: FloatArray) -> float:
    return float(weight @ special.ndtr((value - mean) / np.sqrt(var)))


def _mixture_quantile(mean: FloatArray, var: FloatArray, weight: FloatArray, p: float) -> float:
    sd = np.sqrt(var)
    low, high = float((mean - 12.0 * sd).min()), float((mean + 12.0 * sd).max())
    return float(
        scipy_optimize().brentq(
            lambda t: _mixture_cdf(t, mean, var, weight) - p, low, high, xtol=1e-13, rtol=1e-13
        )
    )


def _beyond(grid: _Grid, threshold: float, sign: float) -> float:
    """``P(sign * mu > threshold)``."""
    z = (sign * grid.mean - threshold) / np.sqrt(grid.var)
    return float(grid.weight @ special.ndtr(z))


def _tau_summary(
    grid: _Grid,
    y: FloatArray,
    v: FloatArray,
    effect: EffectPrior,
    tau: TauPrior,
    tails: tuple[float, float, float],
) -> Summary:
    """tau's posterior mean and quantiles: each quantile solves the CDF, the mass of whole panels
    below the candidate plus a Gauss-Legendre integral over the part of its own panel."""
    if tau.kind is TauPriorKind.FIXED:
        return Summary(tau.scale, tau.scale, tau.scale, tau.scale)
    below = np.concatenate([[0.0], np.cumsum(grid.panel_mass)])

    def cdf(point: float) -> float:
        j = int(np.clip(np.searchsorted(grid.edges, point) - 1, 0, grid.panel_mass.size - 1))
        a = float(grid.edges[j])
        half = (point - a) / 2.0
        x = a + half + half * NODES[0]
        log_post = _log_posterior(x, y, v, effect, tau)[0]
        return float(below[j] + half * (NODES[1] @ np.exp(log_post - grid.shift)))

    quantiles = []
    for p in tails:
        j = int(np.clip(np.searchsorted(below, p) - 1, 0, grid.panel_mass.size - 1))
        low, high = float(grid.edges[j]), float(grid.edges[j + 1])
        root = scipy_optimize().brentq(lambda t, p=p: cdf(t) - p, low, high, xtol=1e-13, rtol=1e-13)
        quantiles.append(math.exp(root))
    return Summary(float(grid.weight @ np.exp(grid.x)), quantiles[1], quantiles[0], quantiles[2])
