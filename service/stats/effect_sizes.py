"""Standardized and raw mean differences from arm summaries, as metafor 3.8-1's ``escalc``.

Every function is vectorised: arguments are scalars or 1-d arrays (broadcast against each other)
and results are 1-d arrays. Inputs are validated once, on entry, and bad values raise
:class:`~service.stats.errors.StatsInputError` whose ``field`` names the argument.

Arm 1 is the intervention and arm 2 the control throughout, so a positive SMD means a higher
score in the intervention arm (see :func:`service.stats.conversions.harmonize_direction` for
scales where lower is better).

Sample sizes need not be whole numbers (effective sample sizes, for instance:
:func:`service.stats.conversions.effective_sample_size`; the service itself corrects cluster
trials by inflating the variance, :func:`service.stats.reported_forms.inflate_for_clustering`).
Each arm needs n >= 2, so that the degrees of freedom m = n1 + n2 - 2 are at least 2 and the
correction J(m) is defined.

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
metafor 3.8-1, ``escalc`` help page, "Measures for Quantitative Variables" (measures MD, SMD).
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
estimators. J Educ Stat 6(2):107-128.
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis.
Wiley, ch. 4 (effect sizes based on means).
Higgins JPT et al., eds. Cochrane Handbook for Systematic Reviews of Interventions, version 6.4
(2023), sections 6.5 and 10.5.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from service.stats.errors import StatsInputError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class VarianceType(StrEnum):
    """Sampling variance estimators of the SMD (metafor's ``vtype`` for ``measure="SMD"``)."""

    LS = "LS"  # large-sample approximation (Hedges 1982), metafor's default
    UB = "UB"  # unbiased estimator (Hedges 1983)
    LS2 = "LS2"  # large-sample approximation of the corrected d: J^2 times that of Cohen's d
    AV = "AV"  # LS with the sample-size-weighted average g in place of each g (homogeneity)


@dataclass(frozen=True, slots=True)
class EffectSizes:
    """Effect sizes ``yi`` and their sampling variances ``vi``: 1-d arrays of equal length."""

    yi: FloatArray
    vi: FloatArray


def vectors(**values: ArrayLike) -> tuple[FloatArray, ...]:
    """Finite float arrays, broadcast to one common 1-d shape, in the order given.

    Shared by the modules of the numerical core so that every public function checks its
    numeric arguments the same way.

    Raises
    ------
    StatsInputError
        When a value is not numeric, not finite, more than 1-d or of a length that does not
        broadcast with the others; ``field`` names that argument.
    """
    arrays = {name: _finite_array(value, name) for name, value in values.items()}
    shape: tuple[int, ...] = ()
    for name, array in arrays.items():
        try:
            shape = np.broadcast_shapes(shape, array.shape)
        except ValueError:
            raise StatsInputError(f"{name} has a length unlike the others", field=name) from None
    return tuple(np.broadcast_to(array, shape).reshape(-1) for array in arrays.values())


def flags(value: bool | ArrayLike, *, field: str) -> BoolArray:
    """A boolean argument (one flag or one per study) as a 1-d boolean array."""
    array = np.atleast_1d(np.asarray(value))
    if array.dtype != np.bool_ or array.ndim != 1:
        raise StatsInputError(f"{field} must be true/false, one flag or one per study", field=field)
    return array


def require(ok: BoolArray | bool, message: str, *, field: str) -> None:
    """Raise :class:`StatsInputError` for ``field`` unless ``ok`` holds everywhere."""
    if not np.all(ok):
        raise StatsInputError(message, field=field)


def check_arm(n: FloatArray, sd: FloatArray | None = None, *, arm: int) -> None:
    """Arm ``arm``'s summaries (fields ``n{arm}``, ``sd{arm}``): n >= 2 and, when given, sd > 0.

    n >= 2 so that an SD exists and the degrees of freedom n1 + n2 - 2 are at least 2.
    """
    require(n >= 2, f"n{arm} must be at least 2", field=f"n{arm}")
    if sd is not None:
        require(sd > 0, f"sd{arm} must be positive", field=f"sd{arm}")


def two_arms(
    n1: ArrayLike,
    mean1: ArrayLike,
    sd1: ArrayLike,
    n2: ArrayLike,
    mean2: ArrayLike,
    sd2: ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validated summaries of two arms: finite, n >= 2 and sd > 0 in each, broadcast together."""
    arrays = vectors(n1=n1, mean1=mean1, sd1=sd1, n2=n2, mean2=mean2, sd2=sd2)
    check_arm(arrays[0], arrays[2], arm=1)
    check_arm(arrays[3], arrays[5], arm=2)
    n1_, m1_, s1_, n2_, m2_, s2_ = arrays
    return n1_, m1_, s1_, n2_, m2_, s2_


def hedges_correction(df: ArrayLike) -> FloatArray:
    """Exact small-sample correction J(m) of Hedges (1981), as metafor's ``.cmicalc``.

    J(m) = exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2)), computed on the log scale so
    that large m do not overflow; J(m) ~ 1 - 3/(4m - 1) for large m.

    Parameters
    ----------
    df : array_like
        Degrees of freedom m of the pooled SD (n1 + n2 - 2 for two groups); must exceed 1.
    """
    (m,) = vectors(df=df)
    require(m > 1, "df must exceed 1", field="df")
    return _correction(m)


def smd_from_d(
    d: ArrayLike,
    n1: ArrayLike,
    n2: ArrayLike,
    *,
    variance_type: VarianceType | str = VarianceType.LS,
) -> EffectSizes:
    """Hedges' g and its variance from Cohen's d (uncorrected, pooled-SD standardized).

    As metafor's ``escalc(measure="SMD", di=d, n1i=n1, n2i=n2, vtype=...)``: g = J(m) d with
    m = n1 + n2 - 2, and the variance of ``variance_type`` (see :func:`smd_from_means`).
    """
    d_, n1_, n2_ = vectors(d=d, n1=n1, n2=n2)
    vtype = _variance_type(variance_type)
    check_arm(n1_, arm=1)
    check_arm(n2_, arm=2)
    return _hedges_g(d_, n1_, n2_, vtype)


def smd_from_means(
    n1: ArrayLike,
    mean1: ArrayLike,
    sd1: ArrayLike,
    n2: ArrayLike,
    mean2: ArrayLike,
    sd2: ArrayLike,
    *,
    variance_type: VarianceType | str = VarianceType.LS,
) -> EffectSizes:
    """Hedges' g from arm means and SDs, as ``escalc(measure="SMD")`` in metafor 3.8-1.

    d = (mean1 - mean2) / s_p with the pooled SD
    s_p = sqrt(((n1-1) sd1^2 + (n2-1) sd2^2) / m), m = n1 + n2 - 2, and g = J(m) d
    (:func:`hedges_correction`). With N = n1 + n2, the variance types are (metafor's ``vtype``):

    * ``LS``:  1/n1 + 1/n2 + g^2 / (2N) (Hedges 1982; metafor's default);
    * ``UB``:  1/n1 + 1/n2 + (1 - (m-2) / (m J^2)) g^2 (Hedges 1983, unbiased);
    * ``LS2``: J^2 (1/n1 + 1/n2 + d^2 / (2N)) (Borenstein et al. 2009, ch. 4: V_g = J^2 V_d);
    * ``AV``:  1/n1 + 1/n2 + gbar^2 / (2N), gbar = sum(N g) / sum(N) over all studies passed
      in this call, so ``AV`` variances depend on the whole set (Hedges and Olkin 1985).

    Returns
    -------
    EffectSizes
        ``yi`` (g, positive when arm 1 scores higher) and ``vi``.
    """
    n1_, m1_, s1_, n2_, m2_, s2_ = two_arms(n1, mean1, sd1, n2, mean2, sd2)
    vtype = _variance_type(variance_type)
    d = (m1_ - m2_) / _pooled_sd(n1_, s1_, n2_, s2_)
    return _hedges_g(d, n1_, n2_, vtype)


def smd_from_change_scores(
    n1: ArrayLike,
    mean_change1: ArrayLike,
    sd_change1: ArrayLike,
    n2: ArrayLike,
    mean_change2: ArrayLike,
    sd_change2: ArrayLike,
    *,
    variance_type: VarianceType | str = VarianceType.LS,
) -> EffectSizes:
    """Hedges' g from mean changes from baseline and the SDs of those changes.

    The change-score summaries are treated exactly as post-intervention summaries, i.e. as
    metafor's ``escalc(measure="SMD")`` on the change means and change SDs (see
    :func:`smd_from_means` for the formulas), so the result is standardized by the SD of the
    change. That SD is usually smaller than the SD of the outcome, so the Cochrane Handbook
    (section 10.5.2) warns that such SMDs are not comparable with SMDs of final values and
    should not be pooled with them in one analysis; keep them in separate subgroups or
    analyses. Raw mean differences of change and final values may be mixed
    (:func:`mean_difference`), SMDs may not.
    """
    return smd_from_means(
        n1,
        mean_change1,
        sd_change1,
        n2,
        mean_change2,
        sd_change2,
        variance_type=variance_type,
    )


def mean_difference(
    n1: ArrayLike,
    mean1: ArrayLike,
    sd1: ArrayLike,
    n2: ArrayLike,
    mean2: ArrayLike,
    sd2: ArrayLike,
) -> EffectSizes:
    """Raw mean difference, as ``escalc(measure="MD")`` in metafor 3.8-1 (default ``vtype``).

    yi = mean1 - mean2 with the heteroscedastic variance vi = sd1^2/n1 + sd2^2/n2, which does
    not assume equal SDs in the two arms (Borenstein et al. 2009, ch. 4; Cochrane Handbook,
    section 6.5.1.1).
    """
    n1_, m1_, s1_, n2_, m2_, s2_ = two_arms(n1, mean1, sd1, n2, mean2, sd2)
    return EffectSizes(yi=m1_ - m2_, vi=s1_**2 / n1_ + s2_**2 / n2_)


def _finite_array(value: ArrayLike, field: str) -> FloatArray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise StatsInputError(f"{field} must be numeric", field=field) from None
    require(array.ndim <= 1, f"{field} must be a number or a 1-d array", field=field)
    require(np.isfinite(array), f"{field} must be finite", field=field)
    return np.atleast_1d(array)


def _variance_type(value: VarianceType | str) -> VarianceType:
    try:
        return VarianceType(value)
    except ValueError:
        known = ", ".join(VarianceType)
        raise StatsInputError(
            f"variance_type must be one of {known}", field="variance_type"
        ) from None


def _correction(m: FloatArray) -> FloatArray:
    # metafor's .cmicalc: the ratio of gamma functions on the log scale (no overflow).
    log_j = special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2)
    return np.asarray(np.exp(log_j), dtype=np.float64)


def _pooled_sd(n1: FloatArray, sd1: FloatArray, n2: FloatArray, sd2: FloatArray) -> FloatArray:
    pooled_variance = ((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2)
    return np.asarray(np.sqrt(pooled_variance), dtype=np.float64)


def _hedges_g(d: FloatArray, n1: FloatArray, n2: FloatArray, vtype: VarianceType) -> EffectSizes:
    m = n1 + n2 - 2
    j = _correction(m)
    g = j * d
    inverse_n = 1 / n1 + 1 / n2
    two_n = 2 * (n1 + n2)
    if vtype is VarianceType.UB:
        vi = inverse_n + (1 - (m - 2) / (m * j**2)) * g**2
    elif vtype is VarianceType.LS2:
        vi = j**2 * (inverse_n + d**2 / two_n)
    elif vtype is VarianceType.AV:
        g_bar = np.sum((n1 + n2) * g) / np.sum(n1 + n2)
        vi = inverse_n + g_bar**2 / two_n
    else:
        vi = inverse_n + g**2 / two_n
    return EffectSizes(yi=g, vi=vi)
