"""Weighted sums over "all studies but one", each row with its own tau2, in O(k) per row group.

Leave-one-out row ``i`` pools the studies ``j != i`` with weights ``1 / (v_j + t_i)``, where
``t_i`` is that row's tau2. Three sums give its estimate, its variance and the Knapp-Hartung
residual sum of squares: ``F = sum w``, ``G = sum w c`` and ``H = sum w c^2`` with ``c = y - m``
for a centre ``m``. Summing them row by row is O(k^2); two faster ways give the same numbers:

* **Series.** Rows whose ``t_i`` lie close to a centre ``T`` share one expansion: with
  ``w_j = 1 / (v_j + T)``, ``u_j = w_j / max(w)`` and ``d_i = (t_i - T) max(w)``,
  ``1 / (v_j + t_i) = w_j sum_n (-d_i u_j)^n`` (a geometric series, |d_i u_j| <= |d_i| <= 1/4),
  so ``F(t_i) = sum_n (-d_i)^n sum_j w_j u_j^n``, and so on for ``G`` and ``H``: O(k N) moments
  per centre and O(N) per row, N <= 30 terms for a truncation error below 2^-60 of the terms.
  The deleted study's own term is then subtracted.
* **Blocks.** Rows no centre covers (at most :data:`MAX_CENTRES` are tried) are summed directly,
  a few hundred rows at a time in blocks of at most :data:`BLOCK_BYTES`.

Both report rows whose subtraction lost precision (the deleted study held nearly all the weight,
or the residual sum of squares cancelled): callers refit those exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from service.stats._inputs import FloatArray
from service.stats._wls import dot
from service.stats.errors import check_deadline

Indices = NDArray[np.intp]
Flags = NDArray[np.bool_]

RATIO = 0.25
"""Largest |d_i| a centre accepts: the series then gains 0.6 decimal digits per term."""
TRUNCATION = 2.0**-60
MAX_CENTRES = 64
BLOCK_BYTES = 2 * 1024 * 1024
# Below these fractions of the full sums a subtraction has lost more than ~4 of 16 digits.
WEIGHT_KEPT = 1e-3
RSS_KEPT = 1e-4


@dataclass(frozen=True, slots=True)
class RowSums:
    """Per row: the sum of weights, the pooled estimate and the weighted residual sum of squares.

    ``exact`` is False where the deleted study's weight cancelled the sums, ``rss_exact`` where
    the residual sum of squares cancelled too: those rows must be refitted (when they are used).
    """

    sum_w: FloatArray
    estimate: FloatArray
    rss: FloatArray
    exact: Flags
    rss_exact: Flags


def deleted_row_sums(
    y: FloatArray, v: FloatArray, tau2: FloatArray, deadline: float | None = None
) -> RowSums:
    """Sums of row ``i`` over studies ``j != i`` with weights ``1 / (v_j + tau2[i])``.

    ``tau2`` must be finite and non-negative.
    """
    k = y.size
    out = RowSums(np.empty(k), np.empty(k), np.empty(k), np.ones(k, bool), np.ones(k, bool))
    covered = np.zeros(k, dtype=bool)
    for centre, rows in _centres(tau2, float(v.min())):
        check_deadline(deadline)
        _series(y, v, tau2, centre, rows, out)
        covered[rows] = True
    _blocks(y, v, tau2, np.flatnonzero(~covered), out, deadline)
    return out


def _centres(tau2: FloatArray, v_min: float) -> list[tuple[float, Indices]]:
    """Centres ``T`` and the rows each covers (|t - T| <= RATIO (v_min + T)), lowest t first.

    A centre placed so that the lowest uncovered ``t0`` is at its lower edge,
    ``T = (t0 + RATIO v_min) / (1 - RATIO)``, covers up to ``T + RATIO (v_min + T)``.
    """
    order = np.argsort(tau2, kind="stable")
    ordered = tau2[order]
    found: list[tuple[float, Indices]] = []
    start = 0
    while start < ordered.size and len(found) < MAX_CENTRES:
        lowest = float(ordered[start])
        centre = (lowest + RATIO * v_min) / (1.0 - RATIO)
        stop = int(np.searchsorted(ordered, centre + RATIO * (v_min + centre), side="right"))
        if ordered[stop - 1] <= lowest + RATIO * (v_min + lowest):
            centre = lowest  # the same rows, and rows with tau2 = lowest summed exactly
        found.append((centre, order[start:stop]))
        start = stop
    return found


def _series(
    y: FloatArray, v: FloatArray, tau2: FloatArray, centre: float, rows: Indices, out: RowSums
) -> None:
    """Rows ``rows`` by the expansion around ``centre`` (see the module)."""
    w = 1.0 / (v + centre)
    w_max = float(w.max())
    m = dot(w, y) / float(w.sum())
    c = y - m
    u = w / w_max
    d = (tau2[rows] - centre) * w_max
    terms = _terms(float(np.abs(d).max()))
    moments = np.empty((3, terms))
    power = w.copy()
    c2 = c * c
    for n in range(terms):
        moments[:, n] = power.sum(), dot(power, c), dot(power, c2)
        power *= u
    full = _horner(moments, -d)  # (3, rows): F, G, H at each row's tau2, all studies
    own = 1.0 / (v[rows] + tau2[rows])
    f, g, h = full[0] - own, full[1] - own * c[rows], full[2] - own * c2[rows]
    rss = h - g * g / f
    out.sum_w[rows], out.estimate[rows], out.rss[rows] = f, m + g / f, rss
    out.exact[rows] = f >= WEIGHT_KEPT * full[0]
    out.rss_exact[rows] = rss >= RSS_KEPT * full[2]


def _terms(ratio: float) -> int:
    """The number of series terms that bring ``ratio^n`` below :data:`TRUNCATION`."""
    if ratio == 0.0:
        return 1
    return max(1, math.ceil(math.log(TRUNCATION) / math.log(ratio)))


def _horner(moments: FloatArray, x: FloatArray) -> FloatArray:
    """``sum_n moments[:, n] x^n`` for every ``x``, as a (3, len(x)) array."""
    acc = np.repeat(moments[:, -1:], x.size, axis=1)
    for n in range(moments.shape[1] - 2, -1, -1):
        acc = acc * x + moments[:, n : n + 1]
    return acc


def _blocks(
    y: FloatArray,
    v: FloatArray,
    tau2: FloatArray,
    rows: Indices,
    out: RowSums,
    deadline: float | None,
) -> None:
    """Rows ``rows`` summed directly, in blocks of at most :data:`BLOCK_BYTES`."""
    step = max(1, BLOCK_BYTES // (8 * y.size))
    for start in range(0, rows.size, step):
        check_deadline(deadline)
        chunk = rows[start : start + step]
        w = 1.0 / (v[None, :] + tau2[chunk, None])
        w[np.arange(chunk.size), chunk] = 0.0
        sum_w = w.sum(axis=1)
        estimate = (w @ y) / sum_w
        rss = np.einsum("ij,ij->i", w, (y[None, :] - estimate[:, None]) ** 2)
        out.sum_w[chunk], out.estimate[chunk], out.rss[chunk] = sum_w, estimate, rss


def prefix_row_sums(
    y: FloatArray, v: FloatArray, tau2: FloatArray, deadline: float | None = None
) -> RowSums:
    """Sums of row ``m`` over the first studies ``j <= m``, weights ``1 / (v_j + tau2[m])``.

    For cumulative analyses: summed directly, in lower-triangular blocks of at most
    :data:`BLOCK_BYTES` (k^2 / 2 terms in all, each a few numpy operations, no Python per term).
    """
    k = y.size
    out = RowSums(np.empty(k), np.empty(k), np.empty(k), np.ones(k, bool), np.ones(k, bool))
    start = 0
    while start < k:
        check_deadline(deadline)
        stop = start + _triangle_rows(start, k - start)
        rows = np.arange(start, stop)
        w = v[None, :stop] + tau2[rows, None]
        np.reciprocal(w, out=w)  # in place: a block and its residuals are all it allocates
        w[np.arange(stop)[None, :] > rows[:, None]] = 0.0
        sum_w = w.sum(axis=1)
        estimate = (w @ y[:stop]) / sum_w
        residual = np.subtract(y[None, :stop], estimate[:, None])
        np.square(residual, out=residual)
        out.sum_w[rows], out.estimate[rows] = sum_w, estimate
        out.rss[rows] = np.einsum("ij,ij->i", w, residual)
        start = stop
    return out


def _triangle_rows(start: int, left: int) -> int:
    """How many rows from ``start`` fit a block: ``rows (start + rows) <= BLOCK_BYTES / 8``."""
    cells = BLOCK_BYTES // 8
    rows = int((math.sqrt(start * start + 4 * cells) - start) / 2)
    return max(1, min(left, rows))
