"""Weighted least squares pieces shared by the estimators and the model fitters, in O(k p^2).

metafor's rma.uni writes everything with the k x k matrix
``P = W - W X (X'WX)^{-1} X'W``. With the Cholesky factor ``X'WX = L L'`` and ``B = W X L^{-T}``
(k x p) that matrix is ``W - B B'``, so every quadratic form and trace it needs reduces to sums over
studies and p x p products, and no k x k matrix is ever built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from service.stats._distributions import chi2_sf
from service.stats._inputs import FloatArray
from service.stats.errors import StatsInputError

# metafor sets the Knapp-Hartung factor to 0 below this residual sum of squares (all yi equal).
KNHA_RSS_FLOOR = float(np.finfo(np.float64).eps)
# Below this many elements OpenBLAS computes a dot product on the calling thread.
SMALL_DOT = 4096


def dot(a: FloatArray, b: FloatArray) -> float:
    """``a . b`` by numpy's own einsum loop rather than BLAS.

    OpenBLAS runs a long ``ddot``/``dgemv`` on several threads; on a busy 2-core server (two
    uvicorn workers, or anything else running) those threads wait on each other and a REML fit
    at k = 100,000 took 10 times longer (0.55 s instead of 0.05 s). The products here are O(k)
    and memory-bound: one thread loses nothing. Below :data:`SMALL_DOT` elements BLAS runs
    on one thread anyway, and its call costs a tenth of einsum's dispatch, which dominated
    fits at the sizes reviews have.
    """
    if a.size < SMALL_DOT:
        return float(np.dot(a, b))
    return float(np.einsum("i,i->", a, b))


def _gram_of(a: FloatArray, b: FloatArray) -> FloatArray:
    """``a' b`` for k x p matrices, without BLAS (see :func:`dot`)."""
    result: FloatArray = np.einsum("ij,ik->jk", a, b)
    return result


class WeightedForms:
    """``y' P y`` and ``y' P P y`` from the weights and the residuals, for both projections."""

    __slots__ = ()
    w: FloatArray

    def residuals(self, y: FloatArray) -> FloatArray:
        raise NotImplementedError

    def quad(self, y: FloatArray) -> float:
        """``y' P y``, the weighted residual sum of squares."""
        r = self.residuals(y)
        return dot(self.w * r, r)

    def quad2(self, y: FloatArray) -> float:
        """``y' P P y``, the squared norm of the weighted residuals."""
        wr = self.w * self.residuals(y)
        return dot(wr, wr)


@dataclass(frozen=True, slots=True)
class Projection(WeightedForms):
    """``P = W - B B'`` for weights ``w`` and design ``X``, as in metafor's rma.uni (never formed).

    ``leverage`` holds the row sums of squares of ``B``, i.e. ``w_i^2 x_i' (X'WX)^{-1} x_i``.
    """

    X: FloatArray
    w: FloatArray
    B: FloatArray
    leverage: FloatArray
    chol_inv: FloatArray
    log_det: float

    @classmethod
    def build(cls, X: FloatArray, w: FloatArray) -> Projection:
        """Factorise ``X'WX``; :class:`StatsInputError` when ``X`` is not of full column rank."""
        if X.shape[1] == 1:
            return cls._build_single(X, w)
        Xw = X * w[:, None]
        try:
            L = np.linalg.cholesky(_gram_of(X, Xw))
        except np.linalg.LinAlgError as exc:
            raise StatsInputError("the design matrix is not of full rank", field="X") from exc
        chol_inv = np.linalg.inv(L)
        B = Xw @ chol_inv.T
        leverage = np.einsum("ij,ij->i", B, B)
        log_det = 2.0 * float(np.sum(np.log(np.diag(L))))
        return cls(X, w, B, leverage, chol_inv, log_det)

    @classmethod
    def _build_single(cls, X: FloatArray, w: FloatArray) -> Projection:
        """One column (the intercept-only model): ``X'WX`` is a scalar and ``L`` its square root.

        The same numbers as :meth:`build` without the LAPACK calls, whose fixed cost dominates
        a fit of a few thousand studies (a REML fit builds about ten projections).
        """
        x = X[:, 0]
        xw = x * w
        xwx = dot(xw, x)
        if not xwx > 0.0:
            raise StatsInputError("the design matrix is not of full rank", field="X")
        root = math.sqrt(xwx)
        b = xw / root
        return cls(X, w, b.reshape(-1, 1), b * b, np.array([[1.0 / root]]), math.log(xwx))

    @property
    def covariance(self) -> FloatArray:
        """``(X'WX)^{-1}``, the p x p covariance of the weighted estimates."""
        result: FloatArray = self.chol_inv.T @ self.chol_inv
        return result

    def coefficients(self, y: FloatArray) -> FloatArray:
        """Weighted least squares estimates ``(X'WX)^{-1} X'W y``."""
        result: FloatArray = self.chol_inv.T @ np.einsum("i,ij->j", y, self.B)
        return result

    def residuals(self, y: FloatArray) -> FloatArray:
        """``y - X b`` with ``b`` the weighted least squares estimates."""
        b = self.coefficients(y)
        # numpy's matmul of a (k, 1) matrix takes a slow generic loop: scale the column instead.
        fitted = self.X[:, 0] * b[0] if b.size == 1 else self.X @ b
        result: FloatArray = y - fitted
        return result

    @property
    def trace(self) -> float:
        """``tr(P)``."""
        return float(self.w.sum() - self.leverage.sum())

    def trace_d(self, d: FloatArray) -> float:
        """``tr(P D)`` for a diagonal matrix ``D = diag(d)``."""
        return dot(self.w, d) - dot(self.leverage, d)

    def trace_pdpe(self, d: FloatArray | None = None, e: FloatArray | None = None) -> float:
        """``tr(P D P E)`` for diagonal ``D``, ``E`` (identity when ``None``)."""
        de = _times(d, e)
        bd, be = self._gram(d), self._gram(e)
        w_de = self.w if de is None else self.w * de
        first = dot(self.w, w_de)
        second = 2.0 * dot(w_de, self.leverage)
        return first - second + float((bd * be).sum())

    def _gram(self, d: FloatArray | None) -> FloatArray:
        """``B' D B`` (p x p); with one column, the sum of ``leverage * d`` (no matmul loop)."""
        if self.B.shape[1] == 1:
            return np.array([[self.leverage.sum() if d is None else dot(self.leverage, d)]])
        return _gram_of(self.B, self.B if d is None else self.B * d[:, None])


def _times(d: FloatArray | None, e: FloatArray | None) -> FloatArray | None:
    """Elementwise product of two optional diagonals (``None``, the identity, when both are)."""
    if d is None or e is None:
        return d if e is None else e
    return d * e


@dataclass(frozen=True, slots=True)
class Heterogeneity:
    """Cochran's Q for residual heterogeneity and metafor's "typical" within-study variance."""

    q: float
    df: int
    p_value: float
    typical_variance: float


def residual_heterogeneity(y: FloatArray, v: FloatArray, X: FloatArray) -> Heterogeneity:
    """``QE = y' P y`` with ``W = diag(1/vi)``, as in metafor's rma.uni, and ``vt = (k-p) / tr(P)``.

    Needs ``k > p``. ``vt`` is Higgins and Thompson's (2002) typical variance generalised to
    meta-regression, the denominator of metafor's I2 and H2.
    """
    proj = Projection.build(X, 1.0 / v)
    df = X.shape[0] - X.shape[1]
    q = max(0.0, proj.quad(y))
    return Heterogeneity(q, df, chi2_sf(q, df), df / proj.trace)


def i2_h2(tau2: float, het: Heterogeneity, *, equal_effects: bool) -> tuple[float, float]:
    """I2 (percent) and H2 as metafor defines them.

    From Q for the equal-effects model (``I2 = max(0, (Q - df) / Q)``, ``H2 = Q / df``),
    otherwise from tau2 and the typical variance ``vt``: ``I2 = tau2 / (tau2 + vt)`` and
    ``H2 = (tau2 + vt) / vt``.
    """
    if equal_effects:
        i2 = 0.0 if het.q <= het.df else 100.0 * (het.q - het.df) / het.q
        return i2, het.q / het.df
    vt = het.typical_variance
    return 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


def knha_factor(rss: float, df: int) -> float | None:
    """Knapp and Hartung's (2003) variance factor ``s2w = RSS / (k - p)``, not truncated (metafor).

    ``None`` when ``RSS`` is below machine epsilon (all estimates equal), where metafor sets the
    factor to 0 and so reports a zero standard error; callers keep the unscaled variance instead.
    """
    if rss <= KNHA_RSS_FLOOR:
        return None
    return rss / df


def safe_sqrt(x: float) -> float:
    """Square root clipped at zero (guards against -0.0 and round-off below zero)."""
    return math.sqrt(max(x, 0.0))
