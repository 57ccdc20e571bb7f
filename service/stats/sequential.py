"""Group sequential boundaries by Lan-DeMets alpha spending, and trial sequential analysis sizes.

Boundaries are found look by look, as ldbounds (Reboussin et al. 2000) and gsDesign do, by the
recursive numerical integration of Armitage, McPherson and Rowe (1969): under the null the score
``S(t)`` is Brownian motion, so the density of ``S`` at look ``k`` among the paths that have not
yet crossed is the density at look ``k - 1`` convolved with the normal increment over
``t_k - t_{k-1}``, restricted to the continuation region. Look ``k``'s boundary ``b_k`` is the
root of "probability of first crossing at look ``k`` = the alpha spent between ``t_{k-1}`` and
``t_k``". Integrals use Simpson's rule on a fine grid (Jennison and Turnbull 2000, ch. 19).

The integration itself is :mod:`service.stats._recursion` (shared with the futility
boundaries of :mod:`service.stats.futility`).

Spending functions, per tail with level ``a`` (``alpha / 2`` two-sided, ``alpha`` one-sided):

- O'Brien-Fleming type (Lan and DeMets 1983): ``a(t) = 2 - 2 Phi(Phi^-1(1 - a / 2) / sqrt(t))``;
- Pocock type (Lan and DeMets 1983): ``a(t) = a log(1 + (e - 1) t)``.

The required information size of trial sequential analysis (Wetterslev et al. 2008, 2009):
``RIS = 4 (z_{1-alpha/2} + z_{1-beta})^2 / delta^2`` participants for a standardized mean
difference ``delta``, divided by ``1 - D2`` where the diversity ``D2 = 1 - V_F / V_R``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from service.stats._lazy import scipy_optimize, scipy_stats
from service.stats._recursion import GRID_SDS, Density, first_density, next_density, normal_sf

MAX_LOOKS = 200
NEVER = 40.0  # a boundary no Z reaches: the look spends nothing
_LOWEST_SPEND = 1e-15


class SequentialInputError(ValueError):
    """Information fractions or options that define no group sequential design."""


class Spending(StrEnum):
    """Lan-DeMets spending function families."""

    OBRIEN_FLEMING = "obf"
    POCOCK = "pocock"


@dataclass(frozen=True, slots=True)
class SequentialBoundaries:
    """Upper boundaries (z) per look, symmetric lower ones when ``sides`` is 2.

    ``cumulative_alpha``: alpha spent per tail up to each look (the spending function);
    ``crossing_probability``: the probability under the null of first crossing the upper
    boundary at each look (it sums to ``cumulative_alpha[-1]``). A look whose spending adds
    nothing has the boundary :data:`NEVER`.
    """

    information_fractions: tuple[float, ...]
    alpha: float
    sides: int
    spending: Spending
    boundaries: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    crossing_probability: tuple[float, ...]
    nominal_p: tuple[float, ...]


def spending_function(spending: Spending, tail_alpha: float) -> Callable[[float], float]:
    """The per-tail alpha spent by information fraction ``t`` (capped at 1)."""
    if spending is Spending.POCOCK:
        return lambda t: tail_alpha * math.log(1.0 + (math.e - 1.0) * min(t, 1.0))
    z = float(scipy_stats().norm.isf(tail_alpha / 2.0))
    return lambda t: float(2.0 * scipy_stats().norm.sf(z / math.sqrt(min(t, 1.0))))


def _upper_crossing(previous: Density | None, t: float, step: float, z: float) -> float:
    """P(no crossing before, S_k > z sqrt(t_k)) under the null."""
    if previous is None:
        return float(scipy_stats().norm.sf(z))
    tail = normal_sf((z * math.sqrt(t) - previous.points) / math.sqrt(step))
    return float(tail @ previous.mass)


def _solve_boundary(previous: Density | None, t: float, step: float, spend: float) -> float:
    if spend <= _LOWEST_SPEND:
        return NEVER
    if previous is None:
        return float(scipy_stats().norm.isf(spend))
    # The crossing probability falls from above ``spend`` at z = 0 (half the remaining mass
    # at least) to 0: one root, bracketed.
    return float(
        scipy_optimize().brentq(
            lambda z: _upper_crossing(previous, t, step, z) - spend, 0.0, NEVER, xtol=1e-12
        )
    )


def check_design(fractions: Sequence[float], alpha: float, sides: int) -> tuple[float, ...]:
    """The looks as floats; ``SequentialInputError`` for a design that does not exist."""
    values = tuple(float(t) for t in fractions)
    if not values or len(values) > MAX_LOOKS:
        raise SequentialInputError(f"give between 1 and {MAX_LOOKS} information fractions")
    if any(not math.isfinite(t) or t <= 0.0 for t in values):
        raise SequentialInputError("information fractions must be positive and finite")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise SequentialInputError("information fractions must increase strictly")
    if not 1e-6 <= alpha < 0.5:
        raise SequentialInputError("alpha must be at least 1e-6 and below 0.5")
    if sides not in (1, 2):
        raise SequentialInputError("sides must be 1 or 2")
    return values


def group_sequential_boundaries(
    information_fractions: Sequence[float],
    *,
    alpha: float = 0.05,
    sides: int = 2,
    spending: Spending = Spending.OBRIEN_FLEMING,
) -> SequentialBoundaries:
    """Lan-DeMets boundaries at the given looks (as ldbounds' ``ldBounds``).

    Fractions above 1 spend nothing more than the whole alpha (the spending is capped at
    ``t = 1``). Two-sided boundaries are symmetric, each tail spending ``alpha / 2``; the
    lower boundary of a one-sided design is ``-inf`` (no futility stop).
    """
    times = check_design(information_fractions, alpha, sides)
    tail_alpha = alpha / 2.0 if sides == 2 else alpha
    spend = spending_function(spending, tail_alpha)
    density: Density | None = None
    boundaries, cumulative, crossing = [], [], []
    previous_t, spent = 0.0, 0.0
    for t in times:
        step = t - previous_t
        increment = max(spend(t) - spent, 0.0)
        z = _solve_boundary(density, t, step, increment)
        crossing.append(_upper_crossing(density, t, step, z) if z < NEVER else 0.0)
        spent += increment
        boundaries.append(z)
        cumulative.append(spent)
        upper = min(z, GRID_SDS) * math.sqrt(t)
        lower = -upper if sides == 2 else -GRID_SDS * math.sqrt(t)
        region = [(lower, upper)]
        density = (
            first_density(t, region) if density is None else next_density(density, step, region)
        )
        previous_t = t
    return SequentialBoundaries(
        information_fractions=times,
        alpha=alpha,
        sides=sides,
        spending=spending,
        boundaries=tuple(boundaries),
        cumulative_alpha=tuple(cumulative),
        crossing_probability=tuple(crossing),
        nominal_p=tuple(float(sides * scipy_stats().norm.sf(z)) for z in boundaries),
    )


def required_information_size(
    mid: float, *, alpha: float = 0.05, power: float = 0.9, diversity: float = 0.0
) -> float:
    """Participants (both arms) to detect the SMD ``mid``, inflated by ``1 / (1 - D2)``.

    ``4 (z_{1-alpha/2} + z_{power})^2 / mid^2`` is the total size of a two-arm trial with equal
    arms and unit SD (Wetterslev et al. 2009, eq. 1, with the variance of an SMD taken as 1).
    """
    if not 1e-3 <= mid <= 1e3:
        raise SequentialInputError("the anticipated effect (mid) must be positive")
    if not 0.0 < power <= 0.9999 or not 1e-6 <= alpha < 1.0:
        raise SequentialInputError("alpha and power must be between 0 and 1")
    if not 0.0 <= diversity < 1.0:
        raise SequentialInputError("diversity must be in [0, 1)")
    z = float(scipy_stats().norm.isf(alpha / 2.0) + scipy_stats().norm.ppf(power))
    return 4.0 * z * z / (mid * mid) / (1.0 - diversity)


@dataclass(frozen=True, slots=True)
class Diversity:
    """D2 (Wetterslev et al. 2009) from the DerSimonian-Laird tau2, as RTSA computes it."""

    d2: float
    tau2_dl: float
    variance_fixed: float
    variance_random: float


def diversity(yi: Sequence[float], vi: Sequence[float]) -> Diversity:
    """``D2 = 1 - V_F / V_R``: the variances of the fixed- and random-effects (DL) estimates."""
    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    w = 1.0 / v
    fixed = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fixed) ** 2))
    c = float(np.sum(w) - np.sum(w * w) / np.sum(w))
    tau2 = max(0.0, (q - (len(y) - 1)) / c) if c > 0.0 else 0.0
    variance_fixed = 1.0 / float(np.sum(w))
    variance_random = 1.0 / float(np.sum(1.0 / (v + tau2)))
    return Diversity(
        d2=max(0.0, 1.0 - variance_fixed / variance_random),
        tau2_dl=tau2,
        variance_fixed=variance_fixed,
        variance_random=variance_random,
    )
