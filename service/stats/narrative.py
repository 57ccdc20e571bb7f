"""Statistics for a narrative synthesis: vote counting by direction of effect.

When effects cannot be pooled (too few studies, incompatible measures), the Cochrane Handbook
(section 12.2.2.5) accepts counting how many studies point each way and testing the count with
a sign test, reported with the proportion favouring the intervention and its confidence
interval. It answers "is there any evidence of an effect?", never "how large is it?".

References
----------
McKenzie JE, Brennan SE (2023). Synthesizing and presenting findings using other methods.
Cochrane Handbook for Systematic Reviews of Interventions, version 6.4, ch. 12.
R 4.2.2, ``stats::binom.test`` (two-sided exact test and Clopper-Pearson interval).
Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the
case of the binomial. Biometrika 26(4):404-413.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from service.stats import _distributions as dist
from service.stats._inputs import FloatArray, as_studies
from service.stats.effect_sizes import require, vectors
from service.stats.errors import StatsInputError


@dataclass(frozen=True, slots=True)
class DirectionSummary:
    """Counts of studies by direction of effect, with a sign test and the proportion.

    ``proportion`` and ``proportion_ci`` are ``None`` when no study has a direction (every
    effect is exactly zero); ``sign_test_p_value`` is then 1.
    """

    k: int
    favours_intervention: int
    favours_control: int
    no_difference: int
    sign_test_p_value: float
    proportion: float | None
    proportion_ci: tuple[float, float] | None
    level: float


def summarise_directions(yi: ArrayLike, *, level: float = 0.95) -> DirectionSummary:
    """Vote counting with a sign test on effects already oriented by direction.

    ``yi`` must be harmonised (:func:`service.stats.conversions.harmonize_direction`), so that
    a positive value favours the intervention; an effect of exactly zero counts as no
    difference and is left out of the test, as the sign test drops ties.

    The p-value is the exact two-sided binomial test of the count favouring the intervention
    among the studies with a direction, against p0 = 0.5, equal to R's ``binom.test(x, n)``
    (for p0 = 0.5 the distribution is symmetric, so it is twice the smaller tail, capped at 1).
    The interval for the proportion is the Clopper-Pearson exact interval, the ``conf.int`` of
    ``binom.test``: chosen because it matches the exact test and keeps its coverage for the
    small numbers of studies typical here, at the cost of being conservative.

    Raises
    ------
    StatsInputError
        When ``yi`` is empty or not finite (field ``yi``), or ``level`` is not in (0, 1).
    """
    (effects,) = vectors(yi=yi)
    if effects.size == 0:
        raise StatsInputError("yi must hold at least one effect", field="yi")
    level_ = float(level)
    require(0 < level_ < 1, "level must be in (0, 1)", field="level")
    favours = int((effects > 0).sum())
    against = int((effects < 0).sum())
    directed = favours + against
    return DirectionSummary(
        k=int(effects.size),
        favours_intervention=favours,
        favours_control=against,
        no_difference=int(effects.size) - directed,
        sign_test_p_value=_sign_test(favours, directed),
        proportion=favours / directed if directed else None,
        proportion_ci=_clopper_pearson(favours, directed, level_) if directed else None,
        level=level_,
    )


def _sign_test(x: int, n: int) -> float:
    """Two-sided exact binomial test against 1/2, as R's ``binom.test(x, n)$p.value``."""
    if n == 0:
        return 1.0
    smaller_tail = float(special.bdtr(min(x, n - x), n, 0.5))
    return min(1.0, 2 * smaller_tail)


def _clopper_pearson(x: int, n: int, level: float) -> tuple[float, float]:
    """Exact interval for a binomial proportion, as R's ``binom.test(x, n)$conf.int``."""
    alpha = (1 - level) / 2
    lower = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, alpha))
    upper = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - alpha))
    return lower, upper


@dataclass(frozen=True, slots=True)
class EffectIntervals:
    """Each study's own Wald interval ``yi -/+ z * sqrt(vi)``."""

    lower: FloatArray
    upper: FloatArray
    level: float


def effect_intervals(yi: ArrayLike, vi: ArrayLike, *, level: float = 0.95) -> EffectIntervals:
    """Normal-theory confidence intervals of the individual effects.

    The intervals a forest plot draws and a narrative synthesis reports beside each study, as
    metafor's ``summary(escalc(...), level = ...)`` computes them (``ci.lb``, ``ci.ub``).

    Raises
    ------
    StatsInputError
        For empty, non-finite or non-positive input, or ``level`` not in (0, 1).
    """
    y, v = as_studies(yi, vi)
    level_ = float(level)
    require(0 < level_ < 1, "level must be in (0, 1)", field="level")
    half = dist.normal_critical(level_) * np.sqrt(v)
    return EffectIntervals(lower=y - half, upper=y + half, level=level_)
