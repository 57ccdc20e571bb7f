"""Sampling correlations of effects that share a group, as metafor's ``vcalc`` computes them.

Two effects of one study that compare different intervention arms with one shared control
(a multi-arm trial) have correlated sampling errors: the control's sampling error enters both.
``vcalc(vi, cluster, obs, grp1, grp2, w1, w2, rho)`` (metafor 3.8-1) gives effects ``i`` and
``j`` of one cluster, each comparing group ``grp1`` (size ``w1``) with group ``grp2`` (size
``w2``), the correlation

    r_ij = f_ij * ( [g1i = g1j] / sqrt(w1i w1j) - [g1i = g2j] / sqrt(w1i w2j)
                  - [g2i = g1j] / sqrt(w2i w1j) + [g2i = g2j] / sqrt(w2i w2j) )
           / ( sqrt(1/w1i + 1/w2i) sqrt(1/w1j + 1/w2j) )

with ``f_ij = 1`` for the same observation (outcome measure) and ``rho`` for different ones.
Two arms against one control on one measure: ``r = (1/nC) / sqrt((1/nA + 1/nC)(1/nB + 1/nC))``,
the correlation of two mean differences sharing a control when the groups' variances are equal
(Gleser and Olkin 2009, in The Handbook of Research Synthesis and Meta-Analysis, ch. 19). For
standardized mean differences Gleser and Olkin's covariance adds ``d_i d_j / (2 N)``; vcalc
omits it, and so does this module, so that the working covariance is metafor's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.stats._inputs import FloatArray
from service.stats.errors import StatsInputError


@dataclass(frozen=True, slots=True)
class SharedGroups:
    """Per effect: its observation (outcome measure), the groups it compares (labels, unique
    within a study) and their sizes: vcalc's ``obs``, ``grp1``, ``grp2``, ``w1``, ``w2``."""

    obs: Sequence[str]
    grp1: Sequence[str]
    grp2: Sequence[str]
    w1: Sequence[float]
    w2: Sequence[float]


@dataclass(frozen=True, slots=True)
class GroupCodes:
    """:class:`SharedGroups` as arrays: label codes and sizes, checked."""

    obs: np.ndarray
    grp1: np.ndarray
    grp2: np.ndarray
    w1: FloatArray
    w2: FloatArray


def group_codes(groups: SharedGroups, k: int) -> GroupCodes:
    """Codes of the labels, sizes as floats; :class:`StatsInputError` for bad inputs."""
    columns = (groups.obs, groups.grp1, groups.grp2, groups.w1, groups.w2)
    if any(len(column) != k for column in columns):
        raise StatsInputError("each effect needs obs, grp1, grp2, w1 and w2", field="groups")
    # One code space for both group columns: a group is the same whichever side it is on.
    arms = _codes([*groups.grp1, *groups.grp2])
    codes = [_codes(groups.obs), arms[:k], arms[k:]]
    w1, w2 = (np.asarray(w, dtype=np.float64) for w in (groups.w1, groups.w2))
    if not (np.all(np.isfinite(w1)) and np.all(np.isfinite(w2)) and w1.min() > 0 < w2.min()):
        raise StatsInputError("group sizes must be finite and positive", field="w1")
    if np.any(codes[1] == codes[2]):
        raise StatsInputError("an effect compares two different groups", field="grp2")
    return GroupCodes(codes[0], codes[1], codes[2], w1, w2)


def _codes(labels: Sequence[str]) -> np.ndarray:
    order: dict[str, int] = {}
    return np.array([order.setdefault(str(label), len(order)) for label in labels], dtype=np.intp)


def correlation(codes: GroupCodes, index: np.ndarray, rho: float | None) -> FloatArray:
    """The ``(g, n, n)`` correlations of the effects ``index`` (``(g, n)``, one cluster a row);
    ``rho`` ``None``: effects on different observations are uncorrelated (vcalc's rho = 0)."""
    g1, g2, obs = codes.grp1[index], codes.grp2[index], codes.obs[index]
    w1, w2 = codes.w1[index], codes.w2[index]

    def same(a: np.ndarray, b: np.ndarray) -> FloatArray:
        return np.asarray(a[:, :, None] == b[:, None, :], dtype=np.float64)

    def root(a: FloatArray, b: FloatArray) -> FloatArray:
        return np.asarray(np.sqrt(a[:, :, None] * b[:, None, :]), dtype=np.float64)

    shared = (
        same(g1, g1) / root(w1, w1)
        - same(g1, g2) / root(w1, w2)
        - same(g2, g1) / root(w2, w1)
        + same(g2, g2) / root(w2, w2)
    )
    scale = np.sqrt(1.0 / w1 + 1.0 / w2)
    factor = np.where(same(obs, obs) > 0, 1.0, 0.0 if rho is None else rho)
    r = factor * shared / (scale[:, :, None] * scale[:, None, :])
    diagonal = np.arange(index.shape[1])
    r[:, diagonal, diagonal] = 1.0
    result: FloatArray = r
    return result
