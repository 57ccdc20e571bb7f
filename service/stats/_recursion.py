"""The recursive numerical integration behind group sequential boundaries (shared).

Armitage, McPherson and Rowe (1969); Jennison and Turnbull (2000), ch. 19. The score
``S(t) = Z(t) sqrt(t)`` is Brownian motion with drift ``theta`` (0 under the null), so its
sub-density at look ``k`` among the paths still continuing is the sub-density at look
``k - 1`` convolved with the normal increment ``N(theta (t_k - t_{k-1}), t_k - t_{k-1})``,
restricted to the continuation region: one interval for efficacy boundaries alone, two when
an inner futility wedge is cut out of it. Each interval carries its own Simpson grid, so an
integral over the region is one dot product with the grid's ``mass``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from service.stats._inputs import FloatArray
from service.stats._lazy import scipy_stats

# Odd, for Simpson's rule. 201 points agree with roots of exact multivariate normal
# probabilities to 5e-8 (401: 1.3e-8, the reference's own precision; tests/stats/
# test_sequential.py) at a quarter of the cost of 401.
GRID_POINTS = 201
# Beyond 10 SDs of the score its density is below 1e-22: grids stop there.
GRID_SDS = 10.0
Interval = tuple[float, float]  # on the score scale, S = Z sqrt(t)


def simpson_weights(n: int, width: float) -> FloatArray:
    """Simpson's rule weights of ``n`` (odd) equally spaced points ``width`` apart."""
    weights = np.ones(n)
    weights[1:-1:2] = 4.0
    weights[2:-1:2] = 2.0
    result: FloatArray = weights * width / 3.0
    return result


@dataclass(frozen=True, slots=True)
class Density:
    """Sub-density of the score ``S`` at one look on a grid (paths not yet stopped)."""

    points: FloatArray
    mass: FloatArray  # density times the Simpson weight: integrals are dot products


def _grid(region: Sequence[Interval]) -> tuple[FloatArray, FloatArray]:
    parts = [(lo, hi) for lo, hi in region if hi > lo]
    if not parts:  # nothing continues: a single point carrying no mass
        return np.zeros(1), np.zeros(1)
    grids = [np.linspace(lo, hi, GRID_POINTS) for lo, hi in parts]
    weights = [simpson_weights(GRID_POINTS, g[1] - g[0]) for g in grids]
    return np.concatenate(grids), np.concatenate(weights)


def first_density(t: float, region: Sequence[Interval], drift: float = 0.0) -> Density:
    """The sub-density at the first look (``S(t) ~ N(drift t, t)``) on ``region``."""
    points, weights = _grid(region)
    density = scipy_stats().norm.pdf(points, loc=drift * t, scale=math.sqrt(t))
    return Density(points, density * weights)


_ROOT_TWO_PI = math.sqrt(2.0 * math.pi)


def normal_pdf(x: FloatArray) -> FloatArray:
    """``scipy.stats.norm.pdf(x)``, bit for bit, without its argument checks and masks.

    scipy's standard normal density is ``exp(-x**2 / 2) / sqrt(2 pi)`` (``_norm_pdf``); its
    wrapper's checks cost more than the arithmetic on a look's 201 x 201 kernel.
    """
    result: FloatArray = np.exp(-(x**2) / 2.0) / _ROOT_TWO_PI
    return result


def normal_sf(x: FloatArray) -> FloatArray:
    """``scipy.stats.norm.sf(x)``, bit for bit: scipy computes it as ``ndtr(-x)``; calling that
    directly costs 10 us where the wrapper costs 150 (a boundary's root search calls it ~20
    times)."""
    result: FloatArray = special.ndtr(-x)
    return result


def next_density(
    previous: Density, step: float, region: Sequence[Interval], drift: float = 0.0
) -> Density:
    """The sub-density ``step`` later, on ``region``: ``previous`` convolved with the increment."""
    points, weights = _grid(region)
    sd = math.sqrt(step)
    shifted = points[:, None] - previous.points[None, :] - drift * step
    kernel = normal_pdf(shifted / sd) / sd
    return Density(points, (kernel @ previous.mass) * weights)


def probability_between(
    previous: Density | None, t: float, step: float, lower: float, upper: float, drift: float
) -> float:
    """P(no stop before, ``lower < Z_k < upper``) with ``Z_k`` at fraction ``t`` (z scale)."""
    root = math.sqrt(t)
    if previous is None:
        mean = drift * root
        return float(scipy_stats().norm.cdf(upper - mean) - scipy_stats().norm.cdf(lower - mean))
    sd = math.sqrt(step)
    centre = previous.points + drift * step
    inside = scipy_stats().norm.cdf((upper * root - centre) / sd) - scipy_stats().norm.cdf(
        (lower * root - centre) / sd
    )
    return float(inside @ previous.mass)


def window(t: float, drift: float) -> Interval:
    """Where the score's mass lies at ``t``: ``drift t -+ GRID_SDS sqrt(t)``."""
    return (drift * t - GRID_SDS * math.sqrt(t), drift * t + GRID_SDS * math.sqrt(t))
