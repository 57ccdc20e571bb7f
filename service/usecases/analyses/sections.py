"""The optional sections of an analysis (small-study tests, sensitivity, subgroups, regression).

Each builder returns the response fields of its section. A section the data cannot support
(too few studies, no groups) comes back as ``null`` with a warning saying why, rather than
failing the whole analysis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from service.errors import InvalidInputError
from service.schemas.analyses import (
    BeggRead,
    CumulativeRead,
    EggerClassicRead,
    EggerRead,
    InfluenceRead,
    KnappHartungRead,
    LeaveOneOutRead,
    MetaRegressionRead,
    ModeratorModelRead,
    SubgroupDifferenceRead,
    SubgroupLevelRead,
    SubgroupsRead,
    TrimAndFillRead,
)
from service.stats import bias, sensitivity
from service.stats.errors import ConvergenceError, StatsInputError
from service.stats.estimators import CiMethod
from service.stats.models import RandomEffectsFit
from service.stats.regression import design_with_intercept, fit_meta_regression
from service.stats.subgroups import analyse_subgroups
from service.usecases.analyses.inputs import AnalysisInput
from service.usecases.analyses.numbers import finite, finite_list

Builder = Callable[["AnalysisInput", RandomEffectsFit], dict[str, Any]]


_f = finite


def _egger(data: AnalysisInput, _: RandomEffectsFit) -> dict[str, Any]:
    modern = bias.egger_test(data.yi, data.vi, estimator=data.estimator)
    classic = bias.egger_classic_test(data.yi, data.vi)
    return {
        "egger": EggerRead(
            statistic=_f(modern.statistic),
            p_value=_f(modern.p_value),
            limit_estimate=_f(modern.limit_estimate),
        ),
        "egger_classic": EggerClassicRead(
            statistic=_f(classic.statistic),
            p_value=_f(classic.p_value),
            df=classic.df,
            limit_estimate=_f(classic.limit_estimate),
        ),
    }


def _begg(data: AnalysisInput, _: RandomEffectsFit) -> dict[str, Any]:
    test = bias.begg_test(data.yi, data.vi)
    return {"begg": BeggRead(kendall_tau=_f(test.kendall_tau), p_value=_f(test.p_value))}


def _trim_and_fill(data: AnalysisInput, fit: RandomEffectsFit) -> dict[str, Any]:
    result = bias.trim_and_fill(
        data.yi,
        data.vi,
        estimator=data.estimator,
        ci_method=data.ci_method,
        level=data.level,
        fitted=fit,
    )
    return {
        "trim_and_fill": TrimAndFillRead(
            k0=result.k0,
            side=result.side,
            estimate=_f(result.estimate),
            se=_f(result.se),
            ci_lower=_f(result.ci_lower),
            ci_upper=_f(result.ci_upper),
            tau2=_f(result.tau2),
        )
    }


def _failsafe(data: AnalysisInput, _: RandomEffectsFit) -> dict[str, Any]:
    return {"failsafe_n": bias.failsafe_n(data.yi, data.vi)}


def _options(data: AnalysisInput) -> dict[str, Any]:
    return {"estimator": data.estimator, "ci_method": data.ci_method, "level": data.level}


def _refits(data: AnalysisInput) -> dict[str, Any]:
    """The options of the sections that refit once per study, with the request's deadline."""
    return {**_options(data), "deadline": data.deadline}


def _leave_one_out(data: AnalysisInput, _: RandomEffectsFit) -> dict[str, Any]:
    rows = sensitivity.leave_one_out(data.yi, data.vi, **_refits(data))
    return {
        "leave_one_out": [
            LeaveOneOutRead(
                label=data.labels[r.index],
                estimate=_f(r.estimate),
                se=_f(r.se),
                ci_lower=_f(r.ci_lower),
                ci_upper=_f(r.ci_upper),
                tau2=_f(r.tau2),
                i2=_f(r.i2),
                q=_f(r.q),
            )
            for r in rows
        ]
    }


def _influence(data: AnalysisInput, _: RandomEffectsFit) -> dict[str, Any]:
    rows = sensitivity.influence(data.yi, data.vi, **_refits(data))
    return {
        "influence": [
            InfluenceRead(
                label=data.labels[r.index],
                rstudent=_f(r.rstudent),
                cook_d=_f(r.cook_d),
                hat=_f(r.hat),
                dffits=_f(r.dffits),
                cov_r=_f(r.cov_r),
                tau2_deleted=_f(r.tau2_deleted),
                weight=_f(r.weight),
            )
            for r in rows
        ]
    }


def _cumulative(data: AnalysisInput, _: RandomEffectsFit) -> dict[str, Any]:
    rows = sensitivity.cumulative(data.yi, data.vi, None, **_refits(data))
    return {
        "cumulative": [
            CumulativeRead(
                label=data.labels[r.index],
                estimate=_f(r.estimate),
                se=_f(r.se),
                ci_lower=_f(r.ci_lower),
                ci_upper=_f(r.ci_upper),
                tau2=_f(r.tau2),
                i2=_f(r.i2),
            )
            for r in rows
        ]
    }


def _subgroups(data: AnalysisInput, _: RandomEffectsFit) -> dict[str, Any]:
    keep = np.array([g is not None for g in data.groups])
    if not keep.any():
        raise _missing("group", "subgroups")
    groups = [str(g) for g in data.groups if g is not None]
    result = analyse_subgroups(data.yi[keep], data.vi[keep], groups, **_options(data))
    model = result.moderator_model
    levels = {
        name: SubgroupLevelRead(
            k=level.k,
            estimate=_f(level.estimate),
            se=_f(level.se),
            ci_lower=_f(level.fit.ci_lower),
            ci_upper=_f(level.fit.ci_upper),
            tau2=_f(level.tau2),
            i2=_f(level.i2),
            status=None,  # set by pooled results, which apply the review's min_k rule
        )
        for name, level in result.levels.items()
    }
    return {
        "subgroups": SubgroupsRead(
            levels=levels,
            difference=SubgroupDifferenceRead(
                q=_f(result.q_between), df=result.df, p_value=_f(result.p_value)
            ),
            moderator_model=ModeratorModelRead(
                qm=_f(model.qm),
                df=model.qm_df,
                p_value=_f(model.qm_p_value),
                tau2=_f(model.tau2),
                r2=_f(model.r2),
            ),
        )
    }


def _meta_regression(data: AnalysisInput, _: RandomEffectsFit) -> dict[str, Any]:
    keep = np.array([m is not None for m in data.moderators])
    if not keep.any():
        raise _missing("moderator", "meta_regression")
    X = design_with_intercept(np.array([m for m in data.moderators if m is not None]))
    yi, vi = data.yi[keep], data.vi[keep]
    wald = fit_meta_regression(yi, vi, X, estimator=data.estimator, level=data.level)
    knha = fit_meta_regression(
        yi, vi, X, estimator=data.estimator, ci_method=CiMethod.HKSJ, level=data.level
    )
    return {
        "meta_regression": MetaRegressionRead(
            coefficients=finite_list(wald.coefficients),
            se=finite_list(wald.se),
            qm=_f(wald.qm),
            p_value=_f(wald.qm_p_value),
            tau2=_f(wald.tau2),
            r2=_f(wald.r2),
            hksj=KnappHartungRead(
                coefficients=finite_list(knha.coefficients),
                se=finite_list(knha.se),
                f=_f(knha.qm),
                p_value=_f(knha.qm_p_value),
            ),
        )
    }


def _missing(field: str, section: str) -> InvalidInputError:
    message = f"the '{section}' section needs '{field}' on at least one effect"
    return InvalidInputError(message, errors=[{"field": "sections", "message": message}])


BUILDERS: dict[str, Builder] = {
    "egger": _egger,
    "begg": _begg,
    "trim_and_fill": _trim_and_fill,
    "failsafe": _failsafe,
    "leave_one_out": _leave_one_out,
    "influence": _influence,
    "cumulative": _cumulative,
    "subgroups": _subgroups,
    "meta_regression": _meta_regression,
}
NULL_FIELDS = {"egger": ("egger", "egger_classic")}


def compute(
    name: str, data: AnalysisInput, fit: RandomEffectsFit, warnings: list[str]
) -> dict[str, Any]:
    """The fields of section ``name``; ``null`` with a warning when the data cannot support it."""
    try:
        return BUILDERS[name](data, fit)
    except (StatsInputError, ConvergenceError) as exc:
        warnings.append(f"{name}: {exc}")
        return dict.fromkeys(NULL_FIELDS.get(name, (name if name != "failsafe" else "failsafe_n",)))
