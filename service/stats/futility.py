"""Non-binding futility boundaries by Lan-DeMets beta spending: the inner wedge.

Trial sequential analysis may stop for futility when the evidence is unlikely to ever show
the anticipated effect (Lan and DeMets 1983 spending applied to the type II error; Jennison
and Turnbull 2000, ch. 7, two-sided tests with early stopping for H0, the "inner wedge";
RTSA's and the TSA software's futility boundaries; gsDesign's ``test.type = 4``):

1. under the alternative the Z at information fraction ``t`` is ``N(theta sqrt(t), 1)`` with
   the drift ``theta = z_{1-alpha/2} + z_{1-beta}``: at ``t = 1`` (the required information
   size) a fixed design has power ``1 - beta``. By symmetry the drift is taken positive;
2. beta is spent by the O'Brien-Fleming-type function
   ``beta(t) = 2 - 2 Phi(Phi^-1(1 - beta / 2) / sqrt(t))`` (gsDesign's ``sfLDOF``);
3. at look ``k`` the boundary ``l_k >= 0`` solves "probability under the alternative of
   continuing to look ``k`` and then ``|Z_k| < l_k`` = ``beta(t_k) - beta(t_{k-1})``", where
   continuing means ``l_j <= |Z_j| < u_j`` at every earlier look, by the recursive numerical
   integration of the efficacy boundaries (:mod:`service.stats._recursion`, with drift);
4. non-binding: the efficacy boundaries ``u_k`` are those of alpha spending alone, computed
   under the null ignoring futility, so not stopping for futility leaves the type I error at
   alpha (stopping only lowers it).

The required information size is not inflated for the futility stops (gsDesign and RTSA
inflate it so that the boundaries meet at ``t = 1``): the wedge may end below the efficacy
boundary at ``t = 1``. Where the spending asks for more than all the paths still continuing
(a single look at ``t = 1``: the fixed design), ``l_k`` is the efficacy boundary itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.stats._lazy import scipy_optimize, scipy_stats
from service.stats._recursion import (
    Density,
    Interval,
    first_density,
    next_density,
    probability_between,
    window,
)
from service.stats.sequential import (
    SequentialInputError,
    Spending,
    check_design,
    spending_function,
)

_LOWEST_SPEND = 1e-15


@dataclass(frozen=True, slots=True)
class FutilityBoundaries:
    """Inner-wedge futility boundaries: ``|Z_k| < boundaries[k]`` is futility at look ``k``.

    A boundary of 0 has no futility region (nothing spent there, e.g. beyond ``t = 1``).
    ``crossing_probability``: under the alternative, the probability of first stopping for
    futility at each look (it sums to ``cumulative_beta[-1]`` unless a boundary was capped).
    """

    information_fractions: tuple[float, ...]
    beta: float
    drift: float
    boundaries: tuple[float, ...]
    cumulative_beta: tuple[float, ...]
    crossing_probability: tuple[float, ...]


def drift_under_alternative(alpha: float, beta: float) -> float:
    """``theta = z_{1-alpha/2} + z_{1-beta}``: the mean of Z at the required information."""
    return float(scipy_stats().norm.isf(alpha / 2.0) + scipy_stats().norm.isf(beta))


def _wedge_probability(
    density: Density | None, t: float, step: float, boundary: float, drift: float
) -> float:
    return probability_between(density, t, step, -boundary, boundary, drift)


def _solve(
    density: Density | None, t: float, step: float, spend: float, efficacy: float, drift: float
) -> float:
    if spend <= _LOWEST_SPEND:
        return 0.0
    # The wedge's probability grows from 0 at l = 0 to all paths continuing at l = u.
    if _wedge_probability(density, t, step, efficacy, drift) <= spend:
        return efficacy
    return float(
        scipy_optimize().brentq(
            lambda z: _wedge_probability(density, t, step, z, drift) - spend,
            0.0,
            efficacy,
            xtol=1e-12,
        )
    )


def _continuation(t: float, futility: float, efficacy: float, drift: float) -> list[Interval]:
    """``futility <= |Z| < efficacy`` on the score scale, within where the mass lies."""
    lowest, highest = window(t, drift)
    inner, outer = futility * math.sqrt(t), efficacy * math.sqrt(t)
    if futility <= 0.0:
        return [(max(-outer, lowest), min(outer, highest))]
    return [(max(-outer, lowest), min(-inner, highest)), (max(inner, lowest), min(outer, highest))]


def futility_boundaries(
    information_fractions: Sequence[float],
    efficacy: Sequence[float],
    *,
    alpha: float = 0.05,
    beta: float = 0.1,
) -> FutilityBoundaries:
    """The non-binding futility boundaries beside two-sided efficacy boundaries ``efficacy``.

    ``efficacy``: the upper efficacy boundary (z) of each look, as
    :func:`.sequential.group_sequential_boundaries` gives them for ``alpha``, two-sided.
    """
    times = check_design(information_fractions, alpha, 2)
    if len(efficacy) != len(times):
        raise SequentialInputError("give one efficacy boundary per look")
    if not 1e-6 <= beta < 0.5:
        raise SequentialInputError("beta must be at least 1e-6 and below 0.5")
    drift = drift_under_alternative(alpha, beta)
    spend = spending_function(Spending.OBRIEN_FLEMING, beta)
    density: Density | None = None
    boundaries, cumulative, crossing = [], [], []
    previous_t, spent = 0.0, 0.0
    for t, upper in zip(times, efficacy, strict=True):
        step = t - previous_t
        increment = max(spend(t) - spent, 0.0)
        boundary = _solve(density, t, step, increment, upper, drift)
        crossing.append(_wedge_probability(density, t, step, boundary, drift) if boundary else 0.0)
        spent += increment
        boundaries.append(boundary)
        cumulative.append(spent)
        region = _continuation(t, boundary, upper, drift)
        density = (
            first_density(t, region, drift)
            if density is None
            else next_density(density, step, region, drift)
        )
        previous_t = t
    return FutilityBoundaries(
        information_fractions=times,
        beta=beta,
        drift=drift,
        boundaries=tuple(boundaries),
        cumulative_beta=tuple(cumulative),
        crossing_probability=tuple(crossing),
    )
