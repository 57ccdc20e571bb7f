"""Dependent effects and the Bayesian model in ``POST /v1/analyses``.

Effects that name a ``study`` are averaged within it (r = 0.5, :mod:`service.stats.aggregate`)
before the main two-level fit, so that its k counts studies; with ``dependence`` ``three_level``
or ``che`` the effects are also fitted, unaveraged, as effects nested in studies
(:mod:`service.stats.multilevel`, :mod:`service.stats.robust`). The Bayesian block fits the
study-level effects (:mod:`service.stats.bayes`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from service.schemas.analyses import AnalysisRequest
from service.schemas.dependence import (
    BayesRead,
    DependenceName,
    DependenceRead,
    RobustRead,
    SummaryRead,
    TauPriorInput,
)
from service.stats.aggregate import combine_correlated
from service.stats.bayes import (
    NAMED_TAU_PRIORS,
    BayesFit,
    EffectPrior,
    EffectPriorKind,
    Summary,
    TauPrior,
    TauPriorKind,
    fit_bayes,
)
from service.stats.multilevel import ThreeLevelFit, fit_three_level
from service.stats.robust import RobustTest, fit_che

# Profile-likelihood CIs refit the model some hundred times: beyond this many effects they are
# left out (null), keeping a request within its budget (about 0.4 s at 1,000 effects).
PROFILE_MAX_EFFECTS = 5_000


def studies_of(request: AnalysisRequest) -> tuple[str, ...] | None:
    """Each row's study (its own label when it names none), or ``None`` when no row names one."""
    rows: Sequence[Any] = request.effects or request.comparisons or []
    if all(row.study is None for row in rows):
        return None
    return tuple(row.study if row.study is not None else f"\x00{row.label}" for row in rows)


def average_within(data: Any, studies: tuple[str, ...]) -> Any:
    """One effect per study: the within-study mean and its variance at r = 0.5 (Borenstein 24.6)."""
    order: dict[str, list[int]] = {}
    for i, study in enumerate(studies):
        order.setdefault(study, []).append(i)
    combined = [combine_correlated(data.yi[idx], data.vi[idx]) for idx in order.values()]
    first = [idx[0] for idx in order.values()]
    return dataclasses.replace(
        data,
        labels=tuple(s.removeprefix("\x00") for s in order),
        yi=np.array([c.yi for c in combined]),
        vi=np.array([c.vi for c in combined]),
        groups=tuple(data.groups[i] for i in first),
        moderators=tuple(data.moderators[i] for i in first),
    )


def multilevel_read(
    request: AnalysisRequest, data: Any, studies: tuple[str, ...] | None
) -> DependenceRead | None:
    """The three-level or CHE answer on all effects (``None`` for ``average``)."""
    if request.dependence == "average":
        return None
    cluster = studies if studies is not None else data.labels
    robust: RobustTest | None = None
    profile = data.yi.size <= PROFILE_MAX_EFFECTS
    if request.dependence == "che":
        che = fit_che(
            data.yi, data.vi, cluster, rho=request.rho, level=request.level, profile=profile
        )
        fit, robust = che.model, che.robust
    else:
        fit = fit_three_level(data.yi, data.vi, cluster, level=request.level, profile=profile)
    return dependence_read(request.dependence, fit, robust)


def bayes_read(request: AnalysisRequest, data: Any) -> BayesRead | None:
    """The Bayesian random-effects answer on the (study-level) effects, when asked for."""
    if request.bayes is None:
        return None
    spec = request.bayes
    fit = fit_bayes(
        data.yi,
        data.vi,
        effect_prior=EffectPrior(
            EffectPriorKind(spec.effect_prior.kind), spec.effect_prior.mean, spec.effect_prior.sd
        ),
        tau_prior=tau_prior_of(spec.tau_prior),
        mid=spec.mid,
        lower_is_better=spec.lower_is_better,
        level=request.level,
    )
    return bayes_fit_read(fit)


def tau_prior_of(spec: TauPriorInput) -> TauPrior:
    """The tau prior a request names or spells out (the schema has checked its parameters)."""
    named = NAMED_TAU_PRIORS.get(spec.kind)
    if named is not None:  # the same definitions as the pooled endpoint's tau_prior
        return named
    given: dict[str, float] = {}
    for name in ("scale", "shape", "location", "df"):
        value = getattr(spec, name)
        if value is not None:  # a parameter the kind does not read keeps TauPrior's placeholder
            given[name] = float(value)
    return TauPrior(TauPriorKind(spec.kind), **given)


def bayes_fit_read(fit: BayesFit) -> BayesRead:
    """The response model of a Bayesian fit (stateless analyses and pooled answers alike)."""
    return BayesRead(
        k=fit.k,
        mu=_summary(fit.mu),
        mu_sd=fit.mu_sd,
        tau=_summary(fit.tau),
        predictive=_summary(fit.predictive),
        mid=fit.mid,
        lower_is_better=fit.lower_is_better,
        p_benefit=fit.p_benefit,
        p_benefit_gt_mid=fit.p_benefit_gt_mid,
    )


def _summary(summary: Summary) -> SummaryRead:
    return SummaryRead(**dataclasses.asdict(summary))


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
