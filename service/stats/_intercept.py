"""The projection ``P`` of the intercept-only model in a handful of O(k) sums.

With ``X`` a column of ones, ``X'WX = sum(w)`` and ``P = W - w w' / sum(w)``, so every quadratic
form and trace of :class:`service.stats._wls.Projection` is a sum or two over the studies. The
general class spends its time on fixed per-call costs (reshaped columns, 1 x 1 matrices), which
dominate at the sizes reviews have (5-100 studies): a REML fit builds about fifteen
projections. Same formulas, same numbers to rounding (a test checks 1e-12), fewer numpy calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from service.stats._inputs import FloatArray
from service.stats._wls import WeightedForms, dot
from service.stats.errors import StatsInputError


def is_intercept(X: FloatArray) -> bool:
    """Whether ``X`` is the intercept-only design (one column of ones)."""
    return X.ndim == 2 and X.shape[1] == 1 and bool(np.all(X == 1.0))


@dataclass(frozen=True, slots=True)
class InterceptProjection(WeightedForms):
    """``P = W - w w' / sum(w)`` (never formed), for weights ``w``."""

    w: FloatArray
    sum_w: float

    @classmethod
    def build(cls, w: FloatArray) -> InterceptProjection:
        sum_w = float(w.sum())
        if not sum_w > 0.0:
            raise StatsInputError("the design matrix is not of full rank", field="X")
        return cls(w, sum_w)

    @property
    def log_det(self) -> float:
        """``log det(X'WX)``, for the REML likelihood."""
        return math.log(self.sum_w)

    @property
    def leverage(self) -> FloatArray:
        """``w_i^2 / sum(w)``, the diagonal of ``w w' / sum(w)``."""
        result: FloatArray = self.w * self.w / self.sum_w
        return result

    def residuals(self, y: FloatArray) -> FloatArray:
        """``y`` minus its weighted mean."""
        result: FloatArray = y - dot(self.w, y) / self.sum_w
        return result

    @property
    def trace(self) -> float:
        """``tr(P) = sum(w) - sum(w^2) / sum(w)``."""
        return self.sum_w - dot(self.w, self.w) / self.sum_w

    def trace_d(self, d: FloatArray) -> float:
        """``tr(P D)`` for ``D = diag(d)``."""
        return dot(self.w, d) - dot(self.w * self.w, d) / self.sum_w

    def trace_pdpe(self, d: FloatArray | None = None, e: FloatArray | None = None) -> float:
        """``tr(P D P E)`` for diagonal ``D``, ``E`` (identity when ``None``)."""
        if d is None and e is None:
            squares = self.w * self.w
            s2, s3 = float(squares.sum()), dot(squares, self.w)
            return s2 - 2.0 * s3 / self.sum_w + (s2 / self.sum_w) ** 2
        de = e if d is None else (d if e is None else d * e)
        assert de is not None
        w_de = self.w * de
        leverage = self.leverage
        bd = float(leverage.sum()) if d is None else dot(leverage, d)
        be = float(leverage.sum()) if e is None else dot(leverage, e)
        return dot(self.w, w_de) - 2.0 * dot(w_de, leverage) + bd * be


def weighted_rss(y: FloatArray, v: FloatArray, tau2: float) -> float:
    """``y' P y`` for ``w = 1 / (v + tau2)``: :meth:`InterceptProjection.quad`, fused.

    The generalised Q statistic, evaluated twenty-odd times by a Paule-Mandel root search.
    """
    w = 1.0 / (v + tau2)
    sum_w = float(w.sum())
    if not sum_w > 0.0:
        raise StatsInputError("the design matrix is not of full rank", field="X")
    r = y - dot(w, y) / sum_w
    return dot(w * r, r)
