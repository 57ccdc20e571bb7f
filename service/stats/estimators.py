"""Estimators of the between-study variance tau2, as metafor's rma.uni (3.8-1) computes them.

Each estimator works on mean-centred effect sizes (as rma.uni does, for stability) with a design
matrix ``X`` of p columns, and returns tau2 truncated at zero, its standard error as rma.uni reports
it and the convergence of iterative solvers. All formulas are O(k p^2): see :mod:`._wls`.

References: DerSimonian and Laird (1986); Hedges (1983, "HE"); Hunter and Schmidt (2004, "HS");
Sidik and Jonkman (2005); Paule and Mandel (1982); Morris (1983, "EB"); Viechtbauer (2005) for ML,
REML and the Fisher scoring algorithm; metafor's rma.uni for the standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from service.stats._inputs import FloatArray
from service.stats._intercept import InterceptProjection, is_intercept, weighted_rss
from service.stats._lazy import scipy_optimize
from service.stats._wls import Projection, dot
from service.stats.errors import StatsInputError

# metafor's ll0check: tau2 is reset to 0 when the likelihood there is larger by more than this.
LL0_TOLERANCE = float(np.finfo(np.float64).eps) ** 0.25


class Tau2Estimator(StrEnum):
    """Between-study variance estimators, named as metafor's ``method`` argument."""

    EE = "EE"
    DL = "DL"
    HE = "HE"
    HS = "HS"
    HSK = "HSk"
    SJ = "SJ"
    ML = "ML"
    REML = "REML"
    EB = "EB"
    PM = "PM"

    @classmethod
    def parse(cls, name: str) -> Tau2Estimator:
        """Case-insensitive lookup; ``"FE"`` (and ``"CE"``) are aliases of ``EE``, as in metafor."""
        key = str(name).strip().upper()
        if key in {"FE", "CE"}:
            return cls.EE
        for member in cls:
            if member.value.upper() == key:
                return member
        raise StatsInputError(f"unknown tau2 estimator {name!r}", field="estimator")


class CiMethod(StrEnum):
    """Inference for the pooled estimate: normal (``z``), Knapp-Hartung (``hksj``) or plain t."""

    Z = "z"
    HKSJ = "hksj"
    T = "t"


@dataclass(frozen=True, slots=True)
class Tau2Estimate:
    """An estimate of tau2 (>= 0), its standard error (``None`` where metafor gives NA)."""

    tau2: float
    se: float | None
    converged: bool = True
    iterations: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Data:
    """Centred effect sizes, sampling variances, design, solver settings, and a fixed tau2."""

    y: FloatArray
    v: FloatArray
    X: FloatArray
    fixed: float | None
    tol: float
    max_iter: int
    intercept: bool = False

    def projection(self, w: FloatArray) -> Projection | InterceptProjection:
        """``P`` for weights ``w``: by a few sums for the intercept-only model."""
        return InterceptProjection.build(w) if self.intercept else Projection.build(self.X, w)

    @property
    def k(self) -> int:
        return int(self.y.size)

    @property
    def df(self) -> int:
        return int(self.X.shape[0] - self.X.shape[1])


def estimate_tau2(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    estimator: Tau2Estimator,
    *,
    fixed: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> Tau2Estimate:
    """Estimate tau2 for the model ``y = X b + u + e`` (``y`` mean-centred, ``k > p``).

    With ``fixed`` the value is kept and only its standard error is computed, as rma.uni does
    when given ``tau2``. ``EE`` returns 0 with no standard error.
    """
    if estimator is Tau2Estimator.EE:
        return Tau2Estimate(0.0, None)
    data = _Data(y, v, X, fixed, tol, max_iter, intercept=is_intercept(X))
    return _ESTIMATORS[estimator](data, estimator)


def _choose(data: _Data, estimate: Callable[[], float]) -> float:
    """The fixed tau2 if there is one, otherwise the estimate truncated at zero."""
    if data.fixed is not None:
        return data.fixed
    return max(0.0, estimate())


def _quadratic_se(scale: float, c0: float, c1: float, c2: float, tau2: float) -> float:
    """``scale * sqrt(2 c0 + 4 tau2 c1 + 2 tau2^2 c2)``, rma.uni's form of moment-estimator SEs."""
    return scale * math.sqrt(max(2.0 * c0 + 4.0 * tau2 * c1 + 2.0 * tau2**2 * c2, 0.0))


def _dl(data: _Data, _: Tau2Estimator) -> Tau2Estimate:
    """DerSimonian-Laird: ``(Q - (k-p)) / tr(P)`` with ``W = diag(1/vi)``."""
    proj = data.projection(1.0 / data.v)
    tr_p = proj.trace
    tau2 = _choose(data, lambda: (proj.quad(data.y) - data.df) / tr_p)
    se = _quadratic_se(1.0 / tr_p, data.df, tr_p, proj.trace_pdpe(), tau2)
    return Tau2Estimate(tau2, se)


def _he(data: _Data, _: Tau2Estimator) -> Tau2Estimate:
    """Hedges' (variance component) estimator: ``(RSS_OLS - tr(P V)) / (k-p)`` with ``W = I``."""
    proj = data.projection(np.ones(data.k))
    tr_pv = proj.trace_d(data.v)
    tau2 = _choose(data, lambda: (proj.quad(data.y) - tr_pv) / data.df)
    pvpv = proj.trace_pdpe(data.v, data.v)
    se = _quadratic_se(1.0 / data.df, pvpv, tr_pv, data.df, tau2)
    return Tau2Estimate(tau2, se)


def _hs(data: _Data, estimator: Tau2Estimator) -> Tau2Estimate:
    """Hunter-Schmidt ``(Q - k) / sum(w)``; HSk scales Q by ``k / (k-p)`` (and the SE likewise)."""
    proj = data.projection(1.0 / data.v)
    scale = data.k / data.df if estimator is Tau2Estimator.HSK else 1.0
    sum_w = float(np.sum(proj.w))
    tau2 = _choose(data, lambda: (scale * proj.quad(data.y) - data.k) / sum_w)
    se = _quadratic_se(scale / sum_w, data.df, proj.trace, proj.trace_pdpe(), tau2)
    return Tau2Estimate(tau2, se)


def _sj(data: _Data, _: Tau2Estimator) -> Tau2Estimate:
    """Sidik-Jonkman: one step from ``tau0 = mean((y - mean y)^2)``, ``tau0 * Q(tau0) / (k-p)``."""
    tau0 = float(np.mean((data.y - np.mean(data.y)) ** 2))
    proj = data.projection(1.0 / (data.v + tau0))
    tau2 = _choose(data, lambda: tau0 * proj.quad(data.y) / data.df)
    pvpv = proj.trace_pdpe(data.v, data.v)
    pvp = proj.trace_pdpe(data.v)
    se = _quadratic_se(tau0 / data.df, pvpv, pvp, proj.trace_pdpe(), tau2)
    return Tau2Estimate(tau2, se)


# Fisher scoring converges in 5-20 steps when it converges at all (rma.uni's own maxiter is 100);
# beyond that it is oscillating, and the bracketing fallback takes over.
FISHER_PATIENCE = 100


def _fisher_step(
    data: _Data, estimator: Tau2Estimator, proj: Projection | InterceptProjection
) -> float:
    """One Fisher scoring step for ML, REML or EB, exactly as rma.uni takes it."""
    score, information = _score(data, estimator, proj)
    # Information that rounds to zero (a study 1e12 times more precise than the rest, say)
    # gives no step: NaN sends the caller to the bracketing fallback instead of dividing by 0.
    return score / information if information > 0.0 else math.nan


def _score(
    data: _Data, estimator: Tau2Estimator, proj: Projection | InterceptProjection
) -> tuple[float, float]:
    """The estimating equation's value at the projection's tau2 and its expected slope (x -1)."""
    if estimator is Tau2Estimator.ML:
        return proj.quad2(data.y) - float(np.sum(proj.w)), dot(proj.w, proj.w)
    if estimator is Tau2Estimator.REML:
        return proj.quad2(data.y) - proj.trace, proj.trace_pdpe()
    return proj.quad(data.y) * data.k / data.df - data.k, float(np.sum(proj.w))


def _score_at_zero(data: _Data, estimator: Tau2Estimator) -> float:
    """The estimating equation at tau2 = 0 (positive: the likelihood increases into tau2 > 0)."""
    return _score(data, estimator, Projection.build(data.X, 1.0 / data.v))[0]


def _score_root(data: _Data, estimator: Tau2Estimator) -> tuple[float, int, bool]:
    """Fallback when Fisher scoring oscillates: bracket the score's root in [0, upper] (Brent).

    metafor stops with "Fisher scoring algorithm did not converge" on such data (it happens with
    a few very precise, discordant studies); a service must answer, and the score's sign change
    brackets the same stationary point that converging Fisher scoring would have reached.
    """

    def score(tau2: float) -> float:
        return _score(data, estimator, data.projection(1.0 / (data.v + tau2)))[0]

    upper = _pm_upper(data)
    while score(upper) > 0.0:
        upper *= 10.0
    root, result = scipy_optimize().brentq(
        score, 0.0, upper, xtol=data.tol, maxiter=data.max_iter, full_output=True, disp=False
    )
    return max(0.0, float(root)), int(result.iterations), bool(result.converged)


def _fisher_scoring(data: _Data, estimator: Tau2Estimator, start: float) -> tuple[float, int, bool]:
    """Iterate from ``start`` with step halving at the zero bound until the change is <= tol."""
    tau2 = start
    for iteration in range(1, min(data.max_iter, FISHER_PATIENCE) + 1):
        adj = _fisher_step(data, estimator, data.projection(1.0 / (data.v + tau2)))
        if not math.isfinite(adj):
            return tau2, iteration, False
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2, change = tau2 + adj, abs(adj)
        if change <= data.tol:
            return tau2, iteration, True
    return tau2, min(data.max_iter, FISHER_PATIENCE), False


def _log_likelihood(data: _Data, estimator: Tau2Estimator, tau2: float) -> float:
    """ML or REML log-likelihood at ``tau2`` (Viechtbauer 2005, eqs. 5 and 6)."""
    proj = data.projection(1.0 / (data.v + tau2))
    ll = -0.5 * float(np.sum(np.log(data.v + tau2))) - 0.5 * proj.quad(data.y)
    if estimator is Tau2Estimator.REML:
        return ll - 0.5 * data.df * math.log(2.0 * math.pi) - 0.5 * proj.log_det
    return ll - 0.5 * data.k * math.log(2.0 * math.pi)


def _likelihood(data: _Data, estimator: Tau2Estimator) -> Tau2Estimate:
    """ML, REML and EB by Fisher scoring from the (truncated) HE estimate, as in rma.uni."""
    converged, iterations = True, 0
    notes: tuple[str, ...] = ()
    # The HE starting value is computed first: its projection also checks the design's rank.
    start = max(0.0, _he(data, estimator).tau2) if data.fixed is None else 0.0
    if data.fixed is not None:
        tau2 = data.fixed
    elif _score_at_zero(data, estimator) <= 0.0:
        # The likelihood does not rise into tau2 > 0, so its maximum on [0, inf) is the bound
        # itself: tau2 is exactly 0, as metafor reports it. Fisher scoring with step halving
        # would only creep towards 0 (stopping about 1e-11 above it) and leave tiny spurious
        # I2 and R2 values behind.
        tau2 = 0.0
    else:
        tau2, iterations, converged = _fisher_scoring(data, estimator, start)
        if not converged:
            tau2, extra, converged = _score_root(data, estimator)
            iterations += extra
            notes = (
                "Fisher scoring oscillated or had no information; tau2 is the root of the score "
                "found by bisection",
            )
        tau2, zero_notes = _check_zero(data, estimator, tau2, converged)
        notes = (*notes, *zero_notes)
    w = 1.0 / (data.v + tau2)
    se = _likelihood_se(data, estimator, w, tau2)
    if not converged:
        notes = (*notes, f"{estimator.value} did not converge in {data.max_iter} iterations")
    return Tau2Estimate(tau2, se, converged, iterations, notes)


def _check_zero(
    data: _Data, estimator: Tau2Estimator, tau2: float, converged: bool
) -> tuple[float, tuple[str, ...]]:
    """metafor's ll0check: fall back to tau2 = 0 when the likelihood is larger there."""
    if not converged or estimator is Tau2Estimator.EB or tau2 <= data.tol:
        return tau2, ()
    gain = _log_likelihood(data, estimator, 0.0) - _log_likelihood(data, estimator, tau2)
    if gain > LL0_TOLERANCE:
        return 0.0, ("Fisher scoring stopped at a local maximum; tau2 set to 0",)
    return tau2, ()


def _likelihood_se(data: _Data, estimator: Tau2Estimator, w: FloatArray, tau2: float) -> float:
    """Inverse Fisher information for ML and REML; rma.uni's PM formula for EB."""
    if estimator is Tau2Estimator.ML:
        return _sqrt_two_over(dot(w, w))
    if estimator is Tau2Estimator.REML:
        return _sqrt_two_over(data.projection(w).trace_pdpe())
    return _pm_se(data, w)


def _sqrt_two_over(information: float) -> float:
    # With weights spanning hundreds of orders of magnitude the information can round to zero
    # or below; the standard error is then undefined (NaN, reported as null), not an error.
    return math.sqrt(2.0 / information) if information > 0.0 else math.nan


def _pm_se(data: _Data, w: FloatArray) -> float:
    """``sqrt(2 k^2 / (k-p)) / sum(w)``: rma.uni's standard error for PM and EB."""
    return math.sqrt(2.0 * data.k**2 / data.df) / float(np.sum(w))


def _pm(data: _Data, _: Tau2Estimator) -> Tau2Estimate:
    """Paule-Mandel: the root of the generalised Q-statistic ``Q(tau2) = k - p`` (Brent)."""
    converged, iterations = True, 0
    notes: tuple[str, ...] = ()
    if data.fixed is not None:
        tau2 = data.fixed
    else:
        tau2, iterations, converged = _pm_root(data)
        if not converged:
            notes = (f"PM root finding did not converge in {data.max_iter} iterations",)
    return Tau2Estimate(tau2, _pm_se(data, 1.0 / (data.v + tau2)), converged, iterations, notes)


def _pm_root(data: _Data) -> tuple[float, int, bool]:
    """Solve ``Q(tau2) - (k-p) = 0`` on ``[0, upper]``; 0 when ``Q(0) < k - p`` (rma.uni)."""

    df = data.df
    if data.intercept:
        y, v = data.y, data.v

        def excess(tau2: float) -> float:
            return weighted_rss(y, v, tau2) - df
    else:

        def excess(tau2: float) -> float:
            return data.projection(1.0 / (data.v + tau2)).quad(data.y) - df

    if excess(0.0) < 0.0:
        return 0.0, 0, True
    upper = _pm_upper(data)
    while excess(upper) > 0.0:
        upper *= 10.0
    root, result = scipy_optimize().brentq(
        excess, 0.0, upper, xtol=data.tol, maxiter=data.max_iter, full_output=True, disp=False
    )
    return max(0.0, float(root)), int(result.iterations), bool(result.converged)


def _pm_upper(data: _Data) -> float:
    """rma.uni's upper search bound ``max(100, 10 * mad(yi)^2)``."""
    mad = 1.4826 * float(np.median(np.abs(data.y - np.median(data.y))))
    return max(100.0, 10.0 * mad**2)


_ESTIMATORS: dict[Tau2Estimator, Callable[[_Data, Tau2Estimator], Tau2Estimate]] = {
    Tau2Estimator.DL: _dl,
    Tau2Estimator.HE: _he,
    Tau2Estimator.HS: _hs,
    Tau2Estimator.HSK: _hs,
    Tau2Estimator.SJ: _sj,
    Tau2Estimator.ML: _likelihood,
    Tau2Estimator.REML: _likelihood,
    Tau2Estimator.EB: _likelihood,
    Tau2Estimator.PM: _pm,
}
