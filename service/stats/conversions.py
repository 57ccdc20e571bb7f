"""Standardized mean differences from other reported statistics, and data preparation.

Trials report results as t or F statistics, p-values, effect sizes with a standard error or a
confidence interval, arms that need combining, or cluster-randomised samples. Each function here
turns one such form into Hedges' g and its sampling variance, on the same footing as
:func:`service.stats.effect_sizes.smd_from_means` (arm 1 intervention, arm 2 control), or
prepares inputs for it. Functions are vectorised and validate once on entry, raising
:class:`~service.stats.errors.StatsInputError` whose ``field`` names the argument.

References
----------
metafor 3.8-1, ``escalc`` help page (measure SMD; the ``di``/``ti``/``pi`` inputs of later
versions follow the same formulas).
Lipsey MW, Wilson DB (2001). Practical Meta-Analysis. Sage, appendix B (d from t, F and p).
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis.
Wiley, ch. 4 and 7.
Higgins JPT et al., eds. Cochrane Handbook for Systematic Reviews of Interventions, version 6.4
(2023): sections 6.3.1 (SE from a CI), 6.5.2.10 and table 6.5.a (combining groups), 23.1.4
(cluster trials).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from service.stats.effect_sizes import (
    BoolArray,
    EffectSizes,
    FloatArray,
    VarianceType,
    check_arm,
    flags,
    require,
    smd_from_d,
    two_arms,
    vectors,
)
from service.stats.errors import StatsInputError


def smd_from_t(
    t: ArrayLike,
    n1: ArrayLike,
    n2: ArrayLike,
    *,
    variance_type: VarianceType | str = VarianceType.LS,
) -> EffectSizes:
    """Hedges' g from an independent-samples (pooled-variance) t statistic.

    d = t sqrt(1/n1 + 1/n2) (Lipsey and Wilson 2001, table B10), then g = J(m) d and its
    variance exactly as metafor's ``escalc(measure="SMD", ti=t, n1i=n1, n2i=n2)``. The sign of
    ``t`` must be that of mean1 - mean2 (positive when arm 1 scores higher).
    """
    t_, n1_, n2_ = vectors(t=t, n1=n1, n2=n2)
    _check_sizes(n1_, n2_)
    return smd_from_d(t_ * np.sqrt(1 / n1_ + 1 / n2_), n1_, n2_, variance_type=variance_type)


def smd_from_f(
    f: ArrayLike,
    n1: ArrayLike,
    n2: ArrayLike,
    *,
    favours_intervention: bool | ArrayLike,
    variance_type: VarianceType | str = VarianceType.LS,
) -> EffectSizes:
    """Hedges' g from the F statistic of a two-group comparison, F(1, n1 + n2 - 2).

    With one numerator degree of freedom F = t^2, so |t| = sqrt(F) (Lipsey and Wilson 2001,
    table B10); F carries no sign, so ``favours_intervention`` gives it: the result is positive
    when true. Then as :func:`smd_from_t`. Only valid for a single two-group contrast, not for
    F statistics with more numerator degrees of freedom or from ANCOVA.
    """
    f_, n1_, n2_ = vectors(f=f, n1=n1, n2=n2)
    require(f_ >= 0, "f must not be negative", field="f")
    signs = _signs(favours_intervention, f_.shape)
    return smd_from_t(signs * np.sqrt(f_), n1_, n2_, variance_type=variance_type)


def smd_from_p(
    p: ArrayLike,
    n1: ArrayLike,
    n2: ArrayLike,
    *,
    favours_intervention: bool | ArrayLike,
    variance_type: VarianceType | str = VarianceType.LS,
) -> EffectSizes:
    """Hedges' g from the exact two-sided p-value of a pooled-variance t test.

    |t| = qt(1 - p/2, n1 + n2 - 2), as metafor (4.0 and later) converts ``pi`` to ``ti``; the
    sign comes from ``favours_intervention`` (Lipsey and Wilson 2001, table B10). Then as
    :func:`smd_from_t`. Use exact p-values only: a bound such as "p < 0.05" gives a g that is
    too small. p = 1 gives g = 0.
    """
    p_, n1_, n2_ = vectors(p=p, n1=n1, n2=n2)
    require((p_ > 0) & (p_ <= 1), "p must be in (0, 1]", field="p")
    _check_sizes(n1_, n2_)
    # The upper p/2 quantile as minus the lower one: accurate for tiny p, unlike 1 - p/2.
    t_abs = -special.stdtrit(n1_ + n2_ - 2, p_ / 2)
    signs = _signs(favours_intervention, p_.shape)
    return smd_from_t(signs * t_abs, n1_, n2_, variance_type=variance_type)


def smd_from_se(effect: ArrayLike, se: ArrayLike) -> EffectSizes:
    """An SMD reported with its standard error: yi = effect, vi = se^2.

    ``effect`` must already be a standardized mean difference (ideally Hedges' g) oriented with
    positive favouring arm 1; it is taken as reported, without further correction, as
    metafor's ``escalc(measure="GEN", yi=effect, sei=se)`` would.
    """
    effect_, se_ = vectors(effect=effect, se=se)
    require(se_ > 0, "se must be positive", field="se")
    return EffectSizes(yi=effect_, vi=se_**2)


def smd_from_ci(
    effect: ArrayLike, lower: ArrayLike, upper: ArrayLike, *, level: ArrayLike = 0.95
) -> EffectSizes:
    """An SMD reported with a symmetric confidence interval.

    se = (upper - lower) / (2 z), z = Phi^-1((1 + level) / 2) (3.92 for 95%; Cochrane
    Handbook, section 6.3.1), and vi = se^2, as :func:`smd_from_se`. The interval must
    contain the estimate; an interval that does not is a data-entry error.
    """
    effect_, lower_, upper_, level_ = vectors(effect=effect, lower=lower, upper=upper, level=level)
    require((level_ > 0) & (level_ < 1), "level must be in (0, 1)", field="level")
    require(lower_ < upper_, "lower must be below upper", field="lower")
    contains = (lower_ <= effect_) & (effect_ <= upper_)
    require(contains, "the interval must contain the estimate", field="effect")
    z = special.ndtri((1 + level_) / 2)
    se = (upper_ - lower_) / (2 * z)
    return EffectSizes(yi=effect_, vi=se**2)


def design_effect(mean_cluster_size: ArrayLike, icc: ArrayLike) -> FloatArray:
    """Design effect of a cluster-randomised arm: 1 + (m - 1) ICC.

    m is the mean cluster size and ICC the intracluster correlation (Cochrane Handbook,
    section 23.1.4). Requires m >= 1 and 0 <= ICC < 1.
    """
    m, icc_ = vectors(mean_cluster_size=mean_cluster_size, icc=icc)
    _check_cluster(m, icc_)
    return 1 + (m - 1) * icc_


def effective_sample_size(
    n: ArrayLike, *, mean_cluster_size: ArrayLike, icc: ArrayLike
) -> FloatArray:
    """Sample size of a cluster-randomised arm divided by its :func:`design_effect`.

    The Cochrane Handbook's "effective sample size" approach (section 23.1.4.3): analysing
    means and SDs with n / design effect approximately accounts for clustering. The result is
    usually not a whole number; :func:`~service.stats.effect_sizes.smd_from_means` accepts it.
    """
    n_, m, icc_ = vectors(n=n, mean_cluster_size=mean_cluster_size, icc=icc)
    require(n_ > 0, "n must be positive", field="n")
    _check_cluster(m, icc_)
    return n_ / (1 + (m - 1) * icc_)


def combine_arms(
    n1: ArrayLike,
    mean1: ArrayLike,
    sd1: ArrayLike,
    n2: ArrayLike,
    mean2: ArrayLike,
    sd2: ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Combine two groups into one, as in the Cochrane Handbook, table 6.5.a.

    n = n1 + n2, mean = (n1 mean1 + n2 mean2) / n and
    sd = sqrt(((n1-1) sd1^2 + (n2-1) sd2^2 + n1 n2 / n (mean1 - mean2)^2) / (n - 1)),
    which are exactly the sample mean and SD (denominator n - 1) of the pooled raw data. Used
    to merge, e.g., two intervention arms before comparing them with a shared control
    (Handbook section 23.3.4). Combine more than two groups by applying it repeatedly.

    Returns
    -------
    tuple of ndarray
        ``(n, mean, sd)`` of the combined group.
    """
    n1_, m1_, s1_, n2_, m2_, s2_ = two_arms(n1, mean1, sd1, n2, mean2, sd2)
    n = n1_ + n2_
    mean = (n1_ * m1_ + n2_ * m2_) / n
    sum_of_squares = (n1_ - 1) * s1_**2 + (n2_ - 1) * s2_**2 + n1_ * n2_ / n * (m1_ - m2_) ** 2
    return n, mean, np.sqrt(sum_of_squares / (n - 1))


def harmonize_direction(yi: ArrayLike, *, lower_is_better: bool | ArrayLike) -> FloatArray:
    """Orient effect sizes so that a positive value favours the intervention.

    Effects on scales where lower is better (internalized stigma: ISMI, SSMIS) change sign, as
    the Cochrane Handbook (section 6.5.1.2) advises before pooling scales of opposite
    direction; others are returned unchanged. ``lower_is_better`` is one flag or one per
    effect. Applying the function twice with the same flags gives back the input. Variances
    do not change.
    """
    (yi_,) = vectors(yi=yi)
    flip = _broadcast_flags(lower_is_better, yi_.shape, field="lower_is_better")
    # Adding 0.0 turns -0.0 into 0.0, so a null effect stays a plain zero.
    return np.where(flip, -yi_, yi_) + 0.0


def _check_sizes(n1: FloatArray, n2: FloatArray) -> None:
    check_arm(n1, arm=1)
    check_arm(n2, arm=2)


def _check_cluster(mean_cluster_size: FloatArray, icc: FloatArray) -> None:
    require(
        mean_cluster_size >= 1, "mean_cluster_size must be at least 1", field="mean_cluster_size"
    )
    require((icc >= 0) & (icc < 1), "icc must be in [0, 1)", field="icc")


def _broadcast_flags(value: bool | ArrayLike, shape: tuple[int, ...], *, field: str) -> BoolArray:
    array = flags(value, field=field)
    try:
        return np.broadcast_to(array, shape)
    except ValueError:
        raise StatsInputError(f"{field} has a length unlike the others", field=field) from None


def _signs(favours_intervention: bool | ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    favours = _broadcast_flags(favours_intervention, shape, field="favours_intervention")
    return np.where(favours, 1.0, -1.0)
