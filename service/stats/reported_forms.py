"""Further reported forms: SEs for SDs, raw mean differences, medians, dichotomised scales.

Each function returns inputs for :func:`~service.stats.effect_sizes.smd_from_means` or an
:class:`~service.stats.effect_sizes.EffectSizes` on the same footing (arm 1 intervention, arm 2
control, positive when arm 1 scores higher). Cluster trials: :func:`inflate_for_clustering`.

References
----------
Higgins JPT et al., eds. Cochrane Handbook for Systematic Reviews of Interventions, version 6.4
(2023): 6.5.2.2 (SD from the SE of a mean), 6.5.2.3 (SD from the SE or CI of a difference in
means), 10.5.2 (ANCOVA), 23.1.4 (cluster trials).
Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the sample size,
median, mid-range, and/or mid-quartile range. Stat Methods Med Res 27(6):1785-1805.
Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation from the
sample size, median, range and/or interquartile range. BMC Med Res Methodol 14:135.
Shi J, Luo D, Weng H, et al. (2020). Optimally estimating the sample standard deviation from the
five-number summary. Res Synth Methods 11(5):641-654.
Chinn S (2000). A simple method for converting an odds ratio to effect size for use in
meta-analysis. Stat Med 19:3127-3131; metafor 3.8-1, ``escalc(measure = "OR2DL")``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from service.stats.effect_sizes import EffectSizes, FloatArray, require, vectors

# Chinn (2000): the logistic distribution has SD pi / sqrt(3), so d = ln(OR) sqrt(3) / pi.
_LOGIT_TO_D = math.sqrt(3.0) / math.pi


def sd_from_se(se: ArrayLike, n: ArrayLike) -> FloatArray:
    """The SD of an arm from the standard error of its mean: SD = SE sqrt(n) (Handbook 6.5.2.2)."""
    se_, n_ = vectors(se=se, n=n)
    require(se_ > 0, "se must be positive", field="se")
    require(n_ >= 1, "n must be at least 1", field="n")
    return se_ * np.sqrt(n_)


def se_from_difference_ci(
    lower: ArrayLike, upper: ArrayLike, n1: ArrayLike, n2: ArrayLike, *, level: ArrayLike = 0.95
) -> FloatArray:
    """The SE of a difference in means from its confidence interval (Handbook 6.5.2.3).

    SE = (upper - lower) / (2 t), with t the (1 + level) / 2 quantile of Student's t on
    n1 + n2 - 2 degrees of freedom: the Handbook's small-sample form, which tends to the
    normal 3.92 for 95% as the samples grow.
    """
    lower_, upper_, n1_, n2_, level_ = vectors(lower=lower, upper=upper, n1=n1, n2=n2, level=level)
    require(lower_ < upper_, "lower must be below upper", field="lower")
    require((level_ > 0) & (level_ < 1), "level must be in (0, 1)", field="level")
    t: FloatArray = special.stdtrit(n1_ + n2_ - 2, (1 + level_) / 2)
    return (upper_ - lower_) / (2 * t)


def t_from_mean_difference(difference: ArrayLike, se: ArrayLike) -> FloatArray:
    """The t statistic MD / SE of a mean difference reported with its standard error.

    The Handbook (6.5.2.3) obtains the pooled SD as SE / sqrt(1/n1 + 1/n2) and then
    d = MD / SD; that d equals t sqrt(1/n1 + 1/n2), so the difference enters exactly as a t
    statistic (:func:`~service.stats.conversions.smd_from_t`). For an ANCOVA-adjusted
    difference the SD so obtained is the covariate-adjusted (residual) SD, smaller than the
    raw SD when the baseline predicts the outcome, which makes the SMD larger than one from
    final values (Handbook 10.5.2); the service flags such effects as estimated.
    """
    difference_, se_ = vectors(difference=difference, se=se)
    require(se_ > 0, "se must be positive", field="se")
    return difference_ / se_


def t_from_p(p: ArrayLike, n1: ArrayLike, n2: ArrayLike) -> FloatArray:
    """|t| of a two-sided p value of a pooled-variance t test: qt(1 - p/2, n1 + n2 - 2).

    As :func:`~service.stats.conversions.smd_from_p` converts it (Lipsey and Wilson 2001);
    exposed so that a cluster trial's adjusted p can be taken back to the individual scale.
    """
    p_, n1_, n2_ = vectors(p=p, n1=n1, n2=n2)
    require((p_ > 0) & (p_ <= 1), "p must be in (0, 1]", field="p")
    # The upper p/2 quantile as minus the lower one: accurate for tiny p, unlike 1 - p/2.
    t: FloatArray = -special.stdtrit(n1_ + n2_ - 2, p_ / 2)
    return t


def _normal_quantile_ratio(n: FloatArray, p_numerator: float, p_offset: float) -> FloatArray:
    quantile: FloatArray = special.ndtri((p_numerator * n - p_offset) / (n + 0.25))
    return 2.0 * quantile


def mean_from_quantiles(
    n: ArrayLike,
    median: ArrayLike,
    *,
    q1: ArrayLike | None = None,
    q3: ArrayLike | None = None,
    minimum: ArrayLike | None = None,
    maximum: ArrayLike | None = None,
) -> FloatArray:
    """The sample mean from the median and the quartiles and/or the range (Luo et al. 2018).

    With the range only (S1): w (a + b) / 2 + (1 - w) m, w = 4 / (4 + n^0.75) (eq. 7); with the
    quartiles only (S2): w (q1 + q3) / 2 + (1 - w) m, w = 0.7 + 0.39 / n (eq. 11); with both
    (S3): w1 (a + b) / 2 + w2 (q1 + q3) / 2 + (1 - w1 - w2) m, w1 = 2.2 / (2.2 + n^0.75),
    w2 = 0.7 - 0.72 / n^0.55 (eq. 15). These are the mean estimators of metafor's
    ``conv.fivenum`` (metafor >= 4.0; its default method).
    """
    n_, m_ = vectors(n=n, median=median)
    quartiles, extremes = _pairs(q1, q3, minimum, maximum)
    if extremes is not None and quartiles is not None:
        w1 = 2.2 / (2.2 + n_**0.75)
        w2 = 0.7 - 0.72 / n_**0.55
        mid_range, mid_iqr = sum(extremes) / 2, sum(quartiles) / 2
        return w1 * mid_range + w2 * mid_iqr + (1 - w1 - w2) * m_
    if extremes is not None:
        w = 4.0 / (4.0 + n_**0.75)
        return w * sum(extremes) / 2 + (1 - w) * m_
    assert quartiles is not None  # _pairs requires one of the two
    w = 0.7 + 0.39 / n_
    return w * sum(quartiles) / 2 + (1 - w) * m_


_Pair = tuple[FloatArray, FloatArray]


def _pairs(
    q1: ArrayLike | None,
    q3: ArrayLike | None,
    minimum: ArrayLike | None,
    maximum: ArrayLike | None,
) -> tuple[_Pair | None, _Pair | None]:
    """The quartiles and the range as arrays (``None`` when not given); at least one of them."""
    quartiles = vectors(q1=q1, q3=q3) if q1 is not None and q3 is not None else None
    extremes = (
        vectors(minimum=minimum, maximum=maximum)
        if minimum is not None and maximum is not None
        else None
    )
    require(
        quartiles is not None or extremes is not None,
        "give both quartiles, both extremes of the range, or all four",
        field="q1",
    )
    return (
        (quartiles[0], quartiles[1]) if quartiles else None,
        (extremes[0], extremes[1]) if extremes else None,
    )


def sd_from_quantiles(
    n: ArrayLike,
    *,
    q1: ArrayLike | None = None,
    q3: ArrayLike | None = None,
    minimum: ArrayLike | None = None,
    maximum: ArrayLike | None = None,
) -> FloatArray:
    """The sample SD from the quartiles and/or the range (Wan et al. 2014; Shi et al. 2020).

    Range only (S1): (b - a) / xi(n), xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25)); quartiles only
    (S2): (q3 - q1) / eta(n), eta(n) = 2 Phi^-1((0.75 n - 0.125) / (n + 0.25)) (Wan et al. 2014,
    eqs. 7 and 16); both (S3): w (b - a) / xi(n) + (1 - w) (q3 - q1) / eta(n),
    w = 1 / (1 + 0.07 n^0.6) (Shi et al. 2020, eq. 11). These are the SD estimators of
    metafor's ``conv.fivenum`` default method.
    """
    (n_,) = vectors(n=n)
    quartiles, extremes = _pairs(q1, q3, minimum, maximum)
    xi = _normal_quantile_ratio(n_, 1.0, 0.375)
    eta = _normal_quantile_ratio(n_, 0.75, 0.125)
    if extremes is not None and quartiles is not None:
        w = 1.0 / (1.0 + 0.07 * n_**0.6)
        return w * (extremes[1] - extremes[0]) / xi + (1 - w) * (quartiles[1] - quartiles[0]) / eta
    if extremes is not None:
        return (extremes[1] - extremes[0]) / xi
    assert quartiles is not None
    return (quartiles[1] - quartiles[0]) / eta


def smd_from_dichotomous(
    events1: ArrayLike, total1: ArrayLike, events2: ArrayLike, total2: ArrayLike
) -> EffectSizes:
    """An SMD from a dichotomised scale by the logit method, as ``escalc(measure = "OR2DL")``.

    yi = ln(OR) sqrt(3) / pi and vi = (1/a + 1/b + 1/c + 1/d) 3 / pi^2 (Chinn 2000), where
    a, b are the events and non-events of arm 1 and c, d those of arm 2; when any cell of a
    study is 0, 1/2 is added to each of its four cells (metafor's default ``add = 1/2,
    to = "only0"``). This is Cohen's d scale, not bias-corrected: metafor applies no
    small-sample correction to OR2DL either.
    """
    e1, t1, e2, t2 = vectors(events1=events1, total1=total1, events2=events2, total2=total2)
    require((e1 >= 0) & (e1 <= t1), "events1 must be between 0 and total1", field="events1")
    require((e2 >= 0) & (e2 <= t2), "events2 must be between 0 and total2", field="events2")
    cells = np.stack([e1, t1 - e1, e2, t2 - e2])
    cells = np.where(np.any(cells == 0, axis=0), cells + 0.5, cells)
    a, b, c, d = cells
    log_or = np.log(a) - np.log(b) - np.log(c) + np.log(d)
    variance = 1 / a + 1 / b + 1 / c + 1 / d
    return EffectSizes(yi=log_or * _LOGIT_TO_D, vi=variance * _LOGIT_TO_D**2)


def inflate_for_clustering(effects: EffectSizes, design_effect: ArrayLike) -> EffectSizes:
    """The effect of a cluster trial analysed as if individually randomised, corrected.

    The point estimate is unbiased whatever the analysis; only its variance is too small, by
    the design effect 1 + (m - 1) ICC: vi is multiplied by it (the SE by its square root),
    Cochrane Handbook 23.1.4 ("approximate analyses of cluster-randomized trials").
    """
    (deff,) = vectors(design_effect=design_effect)
    require(deff >= 1, "the design effect must be at least 1", field="design_effect")
    return EffectSizes(yi=effects.yi, vi=effects.vi * deff)
