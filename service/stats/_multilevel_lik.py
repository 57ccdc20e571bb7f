"""The (restricted) log-likelihood of the three-level model, its score and expected information.

For cluster i with marginal covariance ``M_i = V_i + s1 J + s2 I`` and ``W_i = M_i^-1``, with
``w_i = W_i 1``, ``c = sum_i 1'w_i`` and residuals ``r_i = y_i - mu`` around the GLS mean
``mu = sum_i w_i'y_i / c`` (Harville 1977; the formulas of metafor's rma.mv, which optimises them
numerically):

- ML:   ``ll = -(k log 2 pi + sum log|M_i| + sum r_i'W_i r_i) / 2``
- REML: ``ll = -((k - 1) log 2 pi - log k + sum log|M_i| + log c + sum r_i'W_i r_i) / 2``
- score: ``(r'W Z W r - tr(P Z)) / 2`` with ``Z = J`` (block of ones) or ``I``, ``P = W`` for ML
  and ``P = W - w w'/c`` for REML; information ``tr(P Z_a P Z_b) / 2``.

Every term is a sum over clusters of small-block quantities, computed batched per block size;
with independent sampling errors ``M_i = D_i + s1 1 1'`` (``D_i = diag(v + s2)``) and
Sherman-Morrison gives every term in closed form from per-cluster sums (:func:`_diagonal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from service.stats._blocks import Blocks
from service.stats._inputs import FloatArray

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class Likelihood:
    """One evaluation at ``sigma2``: log-likelihood, score, information, GLS mean and SE."""

    sigma2: tuple[float, float]
    loglik: float
    score: FloatArray
    information: FloatArray
    estimate: float
    se: float


def marginal_inverses(blocks: Blocks, s1: float, s2: float) -> tuple[list[FloatArray], float]:
    """Per group the stacked ``W_i = M_i^-1`` and the sum of all ``log|M_i|``."""
    inverses: list[FloatArray] = []
    logdet = 0.0
    for group in blocks.groups:
        n = group.y.shape[1]
        marginal = group.sampling + s1 + s2 * np.eye(n)
        lower = np.linalg.cholesky(marginal)
        logdet += 2.0 * float(np.log(np.diagonal(lower, axis1=1, axis2=2)).sum())
        inverses.append(np.asarray(np.linalg.inv(marginal), dtype=np.float64))
    return inverses, logdet


def evaluate(blocks: Blocks, s1: float, s2: float, reml: bool) -> Likelihood:
    """The log-likelihood, score and expected information at ``(s1, s2)``."""
    terms = _diagonal(blocks, s1, s2) if blocks.diagonal else _batched(blocks, s1, s2)
    return _finish(blocks, (s1, s2), terms, reml)


@dataclass(frozen=True, slots=True)
class _Terms:
    """The sums over clusters that the likelihood, score and information are made of."""

    logdet: float
    c: float
    estimate: float
    rss: float
    score: FloatArray  # ML score
    info: FloatArray  # ML information
    cross: FloatArray  # sum_i w_i' Z_a W_i Z_b w_i
    zw: FloatArray  # sum_i w_i' Z w_i


def _finish(blocks: Blocks, sigma2: tuple[float, float], t: _Terms, reml: bool) -> Likelihood:
    score, info, c = t.score, t.info, t.c
    if reml:
        score = score + 0.5 * t.zw / c
        info = info + 0.5 * (-2.0 * t.cross / c + np.outer(t.zw, t.zw) / c**2)
        loglik = -0.5 * (
            (blocks.k - 1) * LOG_2PI - math.log(blocks.k) + t.logdet + math.log(c) + t.rss
        )
    else:
        loglik = -0.5 * (blocks.k * LOG_2PI + t.logdet + t.rss)
    return Likelihood(sigma2, loglik, score, info, t.estimate, 1.0 / math.sqrt(c))


def _diagonal(blocks: Blocks, s1: float, s2: float) -> _Terms:
    """Closed forms: ``W_i = diag(a) - s1 g a a'``, ``a = 1/(v + s2)``, ``g = 1/(1 + s1 1'a)``."""
    m, codes, y = len(blocks.clusters), blocks.codes, blocks.yi
    d = blocks.vi + s2
    a = 1.0 / d
    a_sum = np.bincount(codes, a, m)
    a2 = np.bincount(codes, a * a, m)
    a3 = np.bincount(codes, a * a * a, m)
    g = 1.0 / (1.0 + s1 * a_sum)
    sums = a_sum * g  # 1'W_i 1
    c = float(sums.sum())
    w = a * g[codes]  # W_i 1, per effect
    estimate = float(w @ y) / c
    r = y - estimate
    t = np.bincount(codes, a * r, m)  # sum a r
    wr = a * r - s1 * a * (t * g)[codes]
    wr_sum = t * g
    ww = g * g * a2
    frob = a2 - 2.0 * s1 * g * a3 + (s1 * g * a2) ** 2
    wWw = g * g * (a3 - s1 * g * a2 * a2)
    trace = float(a.sum() - s1 * (g * a2).sum())
    score = 0.5 * np.array([(wr_sum**2).sum() - c, (wr**2).sum() - trace])
    info = 0.5 * np.array([[(sums**2).sum(), ww.sum()], [ww.sum(), frob.sum()]])
    cross_01 = (sums * ww).sum()
    cross = np.array([[(sums**3).sum(), cross_01], [cross_01, wWw.sum()]])
    return _Terms(
        logdet=float(np.log(d).sum() + np.log1p(s1 * a_sum).sum()),
        c=c,
        estimate=estimate,
        rss=float(r @ wr),
        score=score,
        info=info,
        cross=cross,
        zw=np.array([(sums**2).sum(), ww.sum()]),
    )


def _batched(blocks: Blocks, s1: float, s2: float) -> _Terms:
    """The general case (CHE's correlated sampling errors), batched per cluster size."""
    inverses, logdet = marginal_inverses(blocks, s1, s2)
    w = [inv.sum(axis=2) for inv in inverses]  # (g, n): W_i 1
    c = sum(float(wi.sum()) for wi in w)
    estimate = sum(float((wi * g.y).sum()) for wi, g in zip(w, blocks.groups, strict=True)) / c
    rss, score, info = 0.0, np.zeros(2), np.zeros((2, 2))
    cross = np.zeros((2, 2))  # sum_i w_i' Z_a W_i Z_b w_i
    zw = np.zeros(2)  # sum_i w_i' Z w_i
    for inv, wi, group in zip(inverses, w, blocks.groups, strict=True):
        wr = np.einsum("gij,gj->gi", inv, group.y - estimate)
        sums = wi.sum(axis=1)  # 1'W_i 1
        rss += float((wr * (group.y - estimate)).sum())
        wr_sum = wr.sum(axis=1)
        score += 0.5 * np.array(
            [(wr_sum**2).sum() - sums.sum(), (wr**2).sum() - np.trace(inv, axis1=1, axis2=2).sum()]
        )
        ww = (wi**2).sum(axis=1)  # w_i'w_i = 1'W_i W_i 1
        info += 0.5 * np.array([[(sums**2).sum(), ww.sum()], [ww.sum(), (inv**2).sum()]])
        wWw = np.einsum("gi,gij,gj->g", wi, inv, wi)
        cross += np.array([[(sums**3).sum(), (sums * ww).sum()], [(sums * ww).sum(), wWw.sum()]])
        zw += np.array([(sums**2).sum(), ww.sum()])
    return _Terms(logdet, c, estimate, rss, score, info, cross, zw)


def sampling_only(blocks: Blocks) -> tuple[float, float]:
    """``QE`` of the sampling covariance alone, and the typical sampling variance."""
    inverses = [np.linalg.inv(group.sampling) for group in blocks.groups]
    w = [inv.sum(axis=2) for inv in inverses]
    c = sum(float(wi.sum()) for wi in w)
    mean = sum(float((wi * g.y).sum()) for wi, g in zip(w, blocks.groups, strict=True)) / c
    q = sum(
        float(np.einsum("gi,gij,gj->", g.y - mean, inv, g.y - mean))
        for inv, g in zip(inverses, blocks.groups, strict=True)
    )
    trace = sum(float(np.trace(inv, axis1=1, axis2=2).sum()) for inv in inverses)
    trace -= sum(float((wi**2).sum()) for wi in w) / c
    return q, (blocks.k - 1) / trace
