"""Sensitivity analyses: leave-one-out, influence diagnostics and cumulative meta-analysis.

Each reproduces metafor 3.8-1 (``leave1out.rma.uni``, ``influence.rma.uni``, ``cumul.rma.uni``;
Viechtbauer and Cheung 2010 for the diagnostics) on an intercept-only random-effects model fitted
with :func:`service.stats.models.fit_random_effects`.

Cost: with the iterative estimators (REML, ML, EB, PM), leave-one-out and influence refit the
model once per study, each refit O(k) per solver iteration, so O(k^2) in all. With the others
(EE, DL, HE, HS, HSk, SJ) every deletion comes from downdated sums at once
(:mod:`service.stats._deletion`), in O(k) for most data sets; a row whose downdate lost
precision is refitted exactly. Cumulative analyses refit once per look, O(k^2), with the
iterative estimators; with the others every look comes from running sums and numpy blocks
(:mod:`service.stats._cumulative`), O(k^2) terms but no refit. No k-by-k matrix is formed. A
refit that fails (for instance a solver that does not converge) raises instead of leaving a
missing row as metafor does. Each takes an optional ``deadline`` (a ``time.monotonic()``
instant), checked before every refit and block: past it, the analysis stops with
:class:`~service.stats.errors.DeadlineExceededError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from service.stats._cumulative import Looks, fast_cumulative
from service.stats._deletion import NON_ITERATIVE, fast_leave_one_out
from service.stats._inputs import as_studies
from service.stats.errors import StatsInputError, check_deadline
from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.models import RandomEffectsFit, fit_random_effects

DOWNDATED_ESTIMATORS = NON_ITERATIVE
"""The estimators whose leave-one-out and influence come from downdated sums, in O(k)."""

# influence.rma.uni sets residuals below 100 machine epsilons to exactly zero.
_RESID_EPS = 100 * np.finfo(np.float64).eps


@dataclass(frozen=True, slots=True)
class LeaveOneOutRow:
    """The model refitted without study ``index`` (0-based).

    With one study left (k = 2) ``i2`` is None (undefined) and ``q`` is 0 on 0 df, as in metafor.
    """

    index: int
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    tau2: float
    i2: float | None
    q: float


@dataclass(frozen=True, slots=True)
class InfluenceRow:
    """Case-deletion diagnostics of study ``index`` (0-based), as ``influence.rma.uni``.

    ``rstudent``, ``dffits``, ``cook_d``, ``cov_r`` and ``tau2_deleted`` use the fit without the
    study; ``hat`` and ``weight`` (percent) come from the full fit.
    """

    index: int
    rstudent: float
    cook_d: float
    hat: float
    dffits: float
    cov_r: float
    tau2_deleted: float
    weight: float


@dataclass(frozen=True, slots=True)
class CumulativeRow:
    """The model fitted to the first ``k`` studies of the order; ``index`` is the study added.

    ``i2`` is None when ``k == 1``: heterogeneity is undefined with one study. This deviates on
    purpose from metafor, which prints I2 = 0 there.
    """

    index: int
    k: int
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    tau2: float
    i2: float | None


def _full_fit(
    yi: ArrayLike, vi: ArrayLike, estimator: Tau2Estimator, ci_method: CiMethod, level: float
) -> RandomEffectsFit:
    """The fit to all studies, which validates the input; deletion needs k >= 2 (as metafor)."""
    y, v = as_studies(yi, vi)
    if y.size < 2:
        raise StatsInputError("case deletion needs at least 2 studies", field="yi")
    return fit_random_effects(y, v, estimator=estimator, ci_method=ci_method, level=level)


def _without(full: RandomEffectsFit, i: int, deadline: float | None) -> RandomEffectsFit:
    """The full model refitted with study ``i`` removed (same estimator, test and level)."""
    check_deadline(deadline)
    return fit_random_effects(
        np.delete(full.yi, i),
        np.delete(full.vi, i),
        estimator=full.estimator,
        ci_method=full.ci_method,
        level=full.level,
    )


@dataclass(frozen=True, slots=True)
class _Deleted:
    """What the rows need of the model fitted without one study (``s2w``: see _dispersion)."""

    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    tau2: float
    i2: float | None
    q: float
    s2w: float

    @classmethod
    def of(cls, fit: RandomEffectsFit) -> _Deleted:
        """From a refit; Q of a single remaining study is 0 (on 0 df), as metafor reports it."""
        q = 0.0 if fit.q is None else fit.q
        return cls(
            fit.estimate, fit.se, fit.ci_lower, fit.ci_upper, fit.tau2, fit.i2, q, _dispersion(fit)
        )


def _deletions(full: RandomEffectsFit, deadline: float | None) -> list[_Deleted]:
    """The fit without each study: from downdated sums where they are exact, else refitted."""
    fast = fast_leave_one_out(
        full.yi, full.vi, full.estimator, full.ci_method, full.level, deadline
    )
    if fast is None:
        return [_Deleted.of(_without(full, i, deadline)) for i in range(full.k)]
    columns = (fast.estimate, fast.se, fast.ci_lower, fast.ci_upper, fast.tau2, fast.i2)
    rows = zip(*(column.tolist() for column in (*columns, fast.q, fast.s2w)), strict=True)
    return [
        _Deleted.of(_without(full, i, deadline)) if refit else _Deleted(*row)
        for i, (refit, row) in enumerate(zip(fast.refit.tolist(), rows, strict=True))
    ]


def leave_one_out(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    estimator: Tau2Estimator = Tau2Estimator.REML,
    ci_method: CiMethod = CiMethod.Z,
    level: float = 0.95,
    deadline: float | None = None,
) -> tuple[LeaveOneOutRow, ...]:
    """Fit the model k times, each time leaving one study out, as metafor's ``leave1out()``.

    Row ``i`` is the fit without study ``i``; ``q`` is Cochran's Q of that fit. O(k^2) in all
    with the iterative estimators, usually O(k) with the others (see the module).

    Raises
    ------
    StatsInputError
        If the input is invalid or k < 2.
    DeadlineExceededError
        When ``time.monotonic()`` passes ``deadline`` before the last refit.
    """
    full = _full_fit(yi, vi, estimator, ci_method, level)
    return tuple(
        LeaveOneOutRow(i, d.estimate, d.se, d.ci_lower, d.ci_upper, d.tau2, d.i2, d.q)
        for i, d in enumerate(_deletions(full, deadline))
    )


def _dispersion(fit: RandomEffectsFit) -> float:
    """metafor's ``s2w``: the Knapp-Hartung scale factor under HKSJ, 1 otherwise.

    Under HKSJ the variance of the estimate is s2w / sum(w), so s2w = se^2 * sum(w).
    """
    if fit.ci_method is not CiMethod.HKSJ:
        return 1.0
    return fit.se**2 * float(np.sum(fit.weights))


def _influence_row(full: RandomEffectsFit, i: int, hat: float, deleted: _Deleted) -> InfluenceRow:
    """Formulas of influence.rma.uni for an intercept-only model (Viechtbauer and Cheung 2010)."""
    s2w = deleted.s2w
    vi, tau2 = float(full.vi[i]), deleted.tau2
    resid = float(full.yi[i]) - deleted.estimate
    resid = 0.0 if abs(resid) < _RESID_EPS else resid
    shift = full.estimate - deleted.estimate
    return InfluenceRow(
        index=i,
        rstudent=resid / np.sqrt(vi * s2w + deleted.se**2 + tau2 * s2w),
        cook_d=shift**2 / full.se**2,
        hat=hat,
        dffits=shift / np.sqrt(s2w * hat * (tau2 + vi)),
        cov_r=deleted.se**2 / full.se**2,
        tau2_deleted=tau2,
        weight=100.0 * hat,
    )


def influence(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    estimator: Tau2Estimator = Tau2Estimator.REML,
    ci_method: CiMethod = CiMethod.Z,
    level: float = 0.95,
    deadline: float | None = None,
) -> tuple[InfluenceRow, ...]:
    """Case-deletion diagnostics, as metafor's ``influence.rma.uni``.

    With b the full estimate, b(-i), se(-i), tau2(-i) and s2w(-i) from the fit without study i
    (s2w is the HKSJ scale factor, 1 for the other tests) and h_i = w_i / sum(w) the hat value:

    * rstudent = (y_i - b(-i)) / sqrt(s2w(-i) (v_i + tau2(-i)) + se(-i)^2)
    * dffits = (b - b(-i)) / sqrt(s2w(-i) h_i (tau2(-i) + v_i))
    * cook_d = (b - b(-i))^2 / se^2, cov_r = se(-i)^2 / se^2
    * weight = 100 h_i (percent).

    Raises
    ------
    StatsInputError
        If the input is invalid or k < 2.
    """
    full = _full_fit(yi, vi, estimator, ci_method, level)
    hats = (full.weights / np.sum(full.weights)).tolist()
    return tuple(
        _influence_row(full, i, hats[i], deleted)
        for i, deleted in enumerate(_deletions(full, deadline))
    )


def _order(order: Sequence[int] | None, k: int) -> list[int]:
    """``order`` as a list of 0-based indices, checked to be a permutation of range(k)."""
    if order is None:
        return list(range(k))
    indices = [int(i) for i in order]
    if sorted(indices) != list(range(k)):
        raise StatsInputError(f"order must be a permutation of 0..{k - 1}", field="order")
    return indices


def cumulative(
    yi: ArrayLike,
    vi: ArrayLike,
    order: Sequence[int] | None = None,
    *,
    estimator: Tau2Estimator = Tau2Estimator.REML,
    ci_method: CiMethod = CiMethod.Z,
    level: float = 0.95,
    deadline: float | None = None,
) -> tuple[CumulativeRow, ...]:
    """Cumulative meta-analysis, as metafor's ``cumul()``: add studies one at a time.

    ``order`` lists 0-based study indices in the order in which they are added (default: input
    order). Row j is the fit to the first j + 1 studies; the last row is the full fit. O(k^2)
    (refits with the iterative estimators, numpy blocks with the others).

    Raises
    ------
    StatsInputError
        If the input is invalid or ``order`` is not a permutation of the studies.
    """
    y, v = as_studies(yi, vi)
    full = fit_random_effects(y, v, estimator=estimator, ci_method=ci_method, level=level)
    indices = _order(order, full.k)
    ys, vs = y[indices], v[indices]
    looks = fast_cumulative(ys, vs, estimator, ci_method, level, deadline)

    def refit(j: int) -> CumulativeRow:
        check_deadline(deadline)
        fit = fit_random_effects(
            ys[:j], vs[:j], estimator=estimator, ci_method=ci_method, level=level
        )
        return _cumulative_row(indices[j - 1], fit)

    if looks is None:
        rows = [refit(j) for j in range(1, full.k)]
    else:
        rows = [refit(1), *_fast_looks(looks, indices, refit)]
    return (*rows, _cumulative_row(indices[-1], full))


def _fast_looks(
    looks: Looks, indices: list[int], refit: Callable[[int], CumulativeRow]
) -> list[CumulativeRow]:
    """Looks 2 .. k - 1 from ``looks``, refitting those it flags (the last is the full fit)."""
    columns = (looks.estimate, looks.se, looks.ci_lower, looks.ci_upper, looks.tau2, looks.i2)
    values = list(zip(*(column.tolist() for column in columns), strict=True))
    flagged = looks.refit.tolist()
    return [
        refit(m + 1) if flagged[m] else CumulativeRow(indices[m], m + 1, *values[m])
        for m in range(1, len(indices) - 1)
    ]


def _cumulative_row(index: int, fit: RandomEffectsFit) -> CumulativeRow:
    return CumulativeRow(
        index=index,
        k=fit.k,
        estimate=fit.estimate,
        se=fit.se,
        ci_lower=fit.ci_lower,
        ci_upper=fit.ci_upper,
        tau2=fit.tau2,
        i2=fit.i2,
    )
