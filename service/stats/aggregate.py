"""One effect per study from several correlated effects of the same participants.

When a trial reports one outcome on several instruments, its effects are not independent
(the same people answered every scale), so they may not enter a meta-analysis as separate
studies. They are averaged, and the variance of the average accounts for their correlation.

The correlation between instruments is almost never reported. Following Borenstein et al.
(2009, ch. 24, eq. 24.6), the average of m effects with an assumed common correlation r has

    var(mean) = (1 / m)^2 * (sum_i v_i + sum_{i != j} r * sqrt(v_i) * sqrt(v_j)),

the same as ``MAd::agg(method = "BHHR")`` and metafor's ``aggregate(escalc, cluster, rho = r,
weighted = FALSE)``. r = 1 is the most conservative choice (the instruments carry no
independent information); r = 0 treats them as independent and overstates the precision.

References
----------
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis.
Wiley, ch. 24 "Multiple outcomes or time-points within a study".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from service.stats._inputs import as_studies
from service.stats.errors import StatsInputError

DEFAULT_CORRELATION = 0.5


@dataclass(frozen=True, slots=True)
class CombinedEffect:
    """The mean of ``m`` correlated effects and its variance under correlation ``rho``."""

    yi: float
    vi: float
    m: int
    rho: float


def combine_correlated(
    yi: ArrayLike, vi: ArrayLike, *, rho: float = DEFAULT_CORRELATION
) -> CombinedEffect:
    """The unweighted mean of ``yi`` and its variance (Borenstein et al. 2009, eq. 24.6).

    Parameters
    ----------
    yi, vi : array_like
        Effects of one study on one outcome and their sampling variances (``vi > 0``).
    rho : float
        The assumed correlation between any two of the effects, in [0, 1].

    Returns
    -------
    CombinedEffect
        For a single effect, that effect unchanged.

    Raises
    ------
    StatsInputError
        For empty, non-finite or non-positive input (fields ``yi``, ``vi``) or ``rho``
        outside [0, 1] (field ``rho``).
    """
    y, v = as_studies(yi, vi)
    if not 0.0 <= rho <= 1.0:
        raise StatsInputError("rho must lie between 0 and 1", field="rho")
    m = int(y.size)
    if m == 1:  # exactly the study's own effect, without rounding through the formula
        return CombinedEffect(yi=float(y[0]), vi=float(v[0]), m=1, rho=float(rho))
    se = np.sqrt(v)
    # sum over all pairs (i, j), diagonal included, minus the diagonal's excess over v_i:
    # sum_i v_i + rho * sum_{i != j} se_i se_j = (1 - rho) sum v_i + rho (sum se_i)^2.
    total = (1.0 - rho) * float(np.sum(v)) + rho * float(np.sum(se)) ** 2
    return CombinedEffect(yi=float(np.mean(y)), vi=total / m**2, m=m, rho=float(rho))
