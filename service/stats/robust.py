"""Cluster-robust (CR2) inference for a three-level or CHE fit (clubSandwich's coef_test).

``fit_che(yi, vi, cluster, rho=0.6)`` is the "correlated and hierarchical effects" model of
Pustejovsky and Tipton (2022): vcalc's working covariance with correlation ``rho`` within a
cluster, fitted as a three-level model (:mod:`.multilevel`), with the CR2 standard error and the
Satterthwaite degrees of freedom of ``coef_test(res, vcov = "CR2")`` (clubSandwich 0.5). The
working model is the fit's marginal covariance ``Phi_i = V_i + s1 J + s2 I`` with weights
``W_i = Phi_i^-1`` (clubSandwich's targetVariance and weightMatrix for rma.mv). With ``c = 1'W1``
(Bell and McCaffrey 2002; Pustejovsky and Tipton 2018, eqs. 5-8, for an intercept-only model):

- ``A_i = D_i' B_i^{-1/2} D_i``, ``Phi_i = D_i'D_i`` (upper Cholesky),
  ``B_i = D_i (Phi_i - J/c) D_i'``
- ``u_i = A_i W_i 1``; ``Var_CR2 = sum_i (u_i'e_i)^2 / c^2`` with residuals ``e_i``
- ``a_i = u_i' Phi_i u_i``, ``b_i = 1'u_i``:
  ``df = (sum_i (a_i - b_i^2/c))^2 / (sum a_i^2 - 2/c sum a_i b_i^2 + (sum b_i^2)^2 / c^2)``
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from service.stats import _distributions as dist
from service.stats._blocks import Blocks, make_blocks
from service.stats._inputs import FloatArray
from service.stats.errors import StatsInputError
from service.stats.multilevel import MultilevelMethod, ThreeLevelFit, fit_blocks
from service.stats.shared_groups import SharedGroups

DEFAULT_RHO = 0.6


@dataclass(frozen=True, slots=True)
class RobustTest:
    """CR2 standard error, Satterthwaite df, t statistic, p-value and CI of the pooled estimate.

    ``df`` can be small (a few clusters, or one dominant cluster): the CI then widens, as it should.
    """

    se: float
    df: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float


@dataclass(frozen=True, slots=True)
class CheFit:
    """A CHE model: the three-level fit on the working covariance and its CR2 test."""

    model: ThreeLevelFit
    robust: RobustTest


def fit_che(
    yi: ArrayLike,
    vi: ArrayLike,
    cluster: ArrayLike,
    *,
    rho: float = DEFAULT_RHO,
    groups: SharedGroups | None = None,
    method: MultilevelMethod = MultilevelMethod.REML,
    level: float = 0.95,
    profile: bool = True,
) -> CheFit:
    """Fit the CHE working model and test its estimate with CR2 (see the module docstring).

    Raises
    ------
    StatsInputError
        Bad inputs, or fewer than 2 clusters (a cluster-robust variance needs at least two).
    """
    blocks = make_blocks(yi, vi, cluster, rho=rho, groups=groups)
    if len(blocks.clusters) < 2:
        raise StatsInputError(
            "robust variance needs effects from at least 2 studies", field="cluster"
        )
    model = fit_blocks(blocks, method=method, rho=rho, level=level, profile=profile)
    return CheFit(model=model, robust=cr2_test(blocks, model.sigma2, model.estimate, level))


def cr2_test(
    blocks: Blocks, sigma2: tuple[float, float], estimate: float, level: float = 0.95
) -> RobustTest:
    """CR2 inference for the GLS mean ``estimate`` of ``blocks`` under components ``sigma2``."""
    c = sum(
        float(np.linalg.inv(g.sampling + sigma2[0] + sigma2[1] * np.eye(g.y.shape[1])).sum())
        for g in blocks.groups
    )
    parts = [
        _cluster_terms(group.sampling, group.y - estimate, sigma2, c) for group in blocks.groups
    ]
    meat = sum(float((p[0] ** 2).sum()) for p in parts)
    a = np.concatenate([p[1] for p in parts])
    b = np.concatenate([p[2] for p in parts])
    se = math.sqrt(meat) / c
    mean = float((a - b**2 / c).sum())
    variance = float((a**2).sum() - 2.0 / c * (a * b**2).sum() + (b**2).sum() ** 2 / c**2)
    df = mean**2 / variance
    statistic = estimate / se
    half = dist.t_critical(level, df) * se
    return RobustTest(
        se=se,
        df=df,
        statistic=statistic,
        p_value=dist.t_two_sided_p(statistic, df),
        ci_lower=estimate - half,
        ci_upper=estimate + half,
    )


def _cluster_terms(
    sampling: FloatArray, residuals: FloatArray, sigma2: tuple[float, float], c: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per cluster of one size: ``u_i'e_i``, ``a_i`` and ``b_i`` given the fit's ``c = 1'W1``."""
    n = sampling.shape[1]
    phi = sampling + sigma2[0] + sigma2[1] * np.eye(n)
    weights = np.linalg.inv(phi)
    w = weights.sum(axis=2)
    upper = np.swapaxes(np.linalg.cholesky(phi), 1, 2)  # D_i, Phi_i = D_i'D_i
    ones = np.ones((n, n))
    inner = upper @ (phi - ones / c) @ np.swapaxes(upper, 1, 2)
    values, vectors = np.linalg.eigh(inner)
    inv_root = (vectors / np.sqrt(values)[:, None, :]) @ np.swapaxes(vectors, 1, 2)
    adjust = np.swapaxes(upper, 1, 2) @ inv_root @ upper
    u = np.einsum("gij,gj->gi", adjust, w)
    a = np.einsum("gi,gij,gj->g", u, phi, u)
    return np.einsum("gi,gi->g", u, residuals), a, u.sum(axis=1)
