"""The ``dependence`` answer of a pooled result: every effect, nested in its study (issue 29).

``select_effects`` gives one effect per study (averaged at r = 0.5, or the first); it keeps each
study's results as ``parts``. With ``dependence=three_level`` the parts are fitted as effects
nested in studies (:mod:`service.stats.multilevel`); with ``che`` as the correlated and
hierarchical effects model with ``rho`` = 0.6 and CR2 inference (:mod:`service.stats.robust`).
The headline result stays the study-level fit, so that the seed rule (>= ``min_k`` randomized
trials) and every section keep counting studies; the answer says how many effects from how many
studies.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from service.schemas.dependence import DependenceName, DependenceRead, RobustRead
from service.stats.errors import StatsInputError
from service.stats.multilevel import ThreeLevelFit, fit_three_level
from service.stats.robust import DEFAULT_RHO, RobustTest, fit_che
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import Dependence, PooledSpec


def dependence_answer(effects: Sequence[StudyEffect], spec: PooledSpec) -> DependenceRead | None:
    """The three-level or CHE model of the studies' parts; ``None`` for ``average`` or < 2 parts."""
    if spec.dependence is Dependence.AVERAGE:
        return None
    yi = [y for e in effects for y, _ in e.parts]
    vi = [v for e in effects for _, v in e.parts]
    cluster = [str(e.study_id) for e in effects for _ in e.parts]
    try:
        if spec.dependence is Dependence.CHE:
            che = fit_che(yi, vi, cluster, rho=DEFAULT_RHO, level=spec.level)
            return dependence_read("che", che.model, che.robust)
        return dependence_read(
            "three_level", fit_three_level(yi, vi, cluster, level=spec.level), None
        )
    except StatsInputError:
        return None  # fewer than two effects, or one study for CHE: nothing to model


def dependence_read(
    name: DependenceName, fit: ThreeLevelFit, robust: RobustTest | None
) -> DependenceRead:
    """The response model of a three-level (or CHE) fit."""
    return DependenceRead(
        dependence=name,
        k_effects=fit.k,
        k_studies=fit.n_clusters,
        method=str(fit.method),
        rho=fit.rho,
        estimate=fit.estimate,
        se=fit.se,
        p_value=fit.p_value,
        ci_lower=fit.ci_lower,
        ci_upper=fit.ci_upper,
        pi_lower=fit.pi_lower,
        pi_upper=fit.pi_upper,
        sigma2_between=fit.sigma2[0],
        sigma2_within=fit.sigma2[1],
        sigma2_between_ci=_interval(fit.sigma2_ci[0]),
        sigma2_within_ci=_interval(fit.sigma2_ci[1]),
        i2_between=fit.i2[0],
        i2_within=fit.i2[1],
        q=fit.q,
        q_df=fit.q_df,
        q_p_value=fit.q_p_value,
        lrt_within=fit.lrt_within.statistic,
        lrt_within_p=fit.lrt_within.p_value,
        lrt_between=fit.lrt_between.statistic,
        lrt_between_p=fit.lrt_between.p_value,
        robust=None if robust is None else RobustRead(**dataclasses.asdict(robust)),
    )


def _interval(bounds: tuple[float, float | None]) -> tuple[float | None, float | None]:
    """A profile interval, ``None`` where it was not computed (NaN) or not reached."""
    low, high = bounds
    return (
        low if math.isfinite(low) else None,
        high if high is None or math.isfinite(high) else None,
    )
