"""Subgroup analysis: separate fits per level, the test of their differences, a moderator model.

The test of differences is the one RevMan and R's meta report for separate random-effects fits
(Borenstein et al. 2009, ch. 19): a Cochran Q of the level estimates with weights ``1 / se^2`` on
L - 1 df. Beside it, the mixed-effects model ``rma(yi, vi, mods = ~ factor(groups))`` pools one
tau2 across levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from service.stats import _distributions as dist
from service.stats._inputs import as_studies
from service.stats.errors import StatsInputError
from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.models import RandomEffectsFit, fit_random_effects
from service.stats.regression import MetaRegressionFit, design_from_factor, fit_meta_regression


@dataclass(frozen=True, slots=True)
class SubgroupLevel:
    """The separate fit of one level (a single study: its own yi and sqrt(vi), tau2 0, i2 None)."""

    name: str
    k: int
    estimate: float
    se: float
    tau2: float
    i2: float | None
    fit: RandomEffectsFit


@dataclass(frozen=True, slots=True)
class SubgroupAnalysis:
    """Separate fits per level (sorted), the test of their differences and the moderator model."""

    levels: dict[str, SubgroupLevel]
    q_between: float
    df: int
    p_value: float
    moderator_model: MetaRegressionFit


def analyse_subgroups(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: Sequence[str],
    *,
    estimator: Tau2Estimator = Tau2Estimator.REML,
    ci_method: CiMethod = CiMethod.Z,
    level: float = 0.95,
) -> SubgroupAnalysis:
    """Fit each level separately and test whether their estimates differ.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances.
    groups : sequence of str
        The level of each study; at least two distinct levels, and more studies than levels
        (so that the moderator model leaves a residual degree of freedom).
    estimator, ci_method, level
        Used for the separate fits and for the moderator model alike.

    Returns
    -------
    SubgroupAnalysis
    """
    y, v = as_studies(yi, vi)
    labels = _labels(groups, y.size)
    X, names = design_from_factor(labels.tolist())
    levels = {}
    for name in names:
        member = labels == name
        fit = fit_random_effects(
            y[member], v[member], estimator=estimator, ci_method=ci_method, level=level
        )
        levels[name] = _level(name, fit)
    q, df, p_value = _difference_test(list(levels.values()))
    model = fit_meta_regression(y, v, X, estimator=estimator, ci_method=ci_method, level=level)
    return SubgroupAnalysis(levels, q, df, p_value, model)


def _labels(groups: Sequence[str], k: int) -> NDArray[np.object_]:
    """Group labels as strings: one per study, at least two levels, fewer levels than studies."""
    labels = np.array([str(g) for g in groups], dtype=object)
    if labels.size != k:
        raise StatsInputError(f"groups has {labels.size} values but yi has {k}", field="groups")
    distinct = len(set(labels.tolist()))
    if distinct < 2:
        raise StatsInputError("subgroup analysis needs at least two groups", field="groups")
    if distinct >= k:
        raise StatsInputError("subgroup analysis needs more studies than groups", field="groups")
    return labels


def _level(name: str, fit: RandomEffectsFit) -> SubgroupLevel:
    """Summary of one level's separate fit."""
    return SubgroupLevel(name, fit.k, fit.estimate, fit.se, fit.tau2, fit.i2, fit)


def _difference_test(levels: list[SubgroupLevel]) -> tuple[float, int, float]:
    """``Q_between = sum w_j (est_j - est_bar)^2`` with ``w_j = 1 / se_j^2``, on L - 1 df."""
    est = np.array([lv.estimate for lv in levels])
    w = 1.0 / np.array([lv.se for lv in levels]) ** 2
    pooled = float(np.dot(w, est)) / float(np.sum(w))
    q = float(np.dot(w, (est - pooled) ** 2))
    df = len(levels) - 1
    return q, df, dist.chi2_sf(q, df)
