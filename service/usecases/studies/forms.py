"""One engine conversion per reported form, with the cluster rule of the Cochrane Handbook.

:func:`convert` maps a reported result to the engine's Hedges' g and variance (intervention
arm 1, control arm 2) and says whether the result is in the instrument's own direction (to be
flipped for lower-is-better scales) and whether it is an estimate. The rules for cluster trials
and estimated effects are described in :mod:`service.usecases.studies.effect_sizes`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.schemas.reported import (
    AncovaData,
    ChangeScoreData,
    DichotomousData,
    EffectCiData,
    EffectSeData,
    FStatisticData,
    MeanDifferenceData,
    MeansData,
    MeansSeData,
    MediansData,
    PBoundData,
    PValueData,
    ReportedData,
    TStatisticData,
)
from service.schemas.studies import ClusterDesign
from service.stats.conversions import design_effect, smd_from_ci, smd_from_se, smd_from_t
from service.stats.effect_sizes import EffectSizes, smd_from_change_scores, smd_from_means
from service.stats.reported_forms import (
    inflate_for_clustering,
    mean_from_quantiles,
    sd_from_quantiles,
    sd_from_se,
    se_from_difference_ci,
    smd_from_dichotomous,
    t_from_mean_difference,
    t_from_p,
)


@dataclass(frozen=True, slots=True)
class Converted:
    """The engine's effect for one result, and how it was obtained."""

    estimate: EffectSizes
    conversion: str
    in_instrument_direction: bool
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Scale:
    """How a cluster design enters: the factor on t statistics and on the variance."""

    t_factor: float = 1.0  # sqrt(design effect) for statistics that accounted for clustering
    design_effect: float = 1.0
    accounted: bool = False


def _sign(favours: str) -> float:
    return 1.0 if favours == "intervention" else -1.0


def _means(data: MeansData, _: Scale) -> Converted:
    a, c = data.intervention, data.control
    estimate = smd_from_means(a.n, a.mean, a.sd, c.n, c.mean, c.sd)
    return Converted(estimate, "smd_from_means", in_instrument_direction=True)


def _means_se(data: MeansSeData, _: Scale) -> Converted:
    a, c = data.intervention, data.control
    sd_a, sd_c = sd_from_se(a.se, a.n), sd_from_se(c.se, c.n)
    estimate = smd_from_means(a.n, a.mean, sd_a, c.n, c.mean, sd_c)
    return Converted(estimate, "smd_from_means_se", in_instrument_direction=True)


def _change_scores(data: ChangeScoreData, _: Scale) -> Converted:
    a, c = data.intervention, data.control
    estimate = smd_from_change_scores(
        a.n, a.mean_change, a.sd_change, c.n, c.mean_change, c.sd_change
    )
    return Converted(estimate, "smd_from_change_scores", in_instrument_direction=True)


def _medians(data: MediansData, _: Scale) -> Converted:
    arms = []
    for arm in (data.intervention, data.control):
        quantiles = {"q1": arm.q1, "q3": arm.q3, "minimum": arm.minimum, "maximum": arm.maximum}
        mean = mean_from_quantiles(arm.n, arm.median, **quantiles)
        arms.append((arm.n, mean, sd_from_quantiles(arm.n, **quantiles)))
    (n1, m1, s1), (n2, m2, s2) = arms
    estimate = smd_from_means(n1, m1, s1, n2, m2, s2)
    return Converted(estimate, "smd_from_medians", in_instrument_direction=True, estimated=True)


def _dichotomous(data: DichotomousData, _: Scale) -> Converted:
    a, c = data.intervention, data.control
    estimate = smd_from_dichotomous(a.events, a.total, c.events, c.total)
    return Converted(estimate, "smd_from_or2dl", in_instrument_direction=True, estimated=True)


def _t(data: TStatisticData, scale: Scale) -> Converted:
    estimate = smd_from_t(data.t * scale.t_factor, data.n_intervention, data.n_control)
    return Converted(estimate, "smd_from_t", in_instrument_direction=True)


def _f(data: FStatisticData, scale: Scale) -> Converted:
    # F(1, df) = t^2 (Lipsey and Wilson 2001, table B10); F carries no sign.
    t = _sign(data.favours) * math.sqrt(data.f) * scale.t_factor
    estimate = smd_from_t(t, data.n_intervention, data.n_control)
    return Converted(estimate, "smd_from_f", in_instrument_direction=False)


def _t_of_p(p: float, favours: str, n1: int, n2: int, scale: Scale) -> EffectSizes:
    t = _sign(favours) * float(t_from_p(p, n1, n2)[0]) * scale.t_factor
    return smd_from_t(t, n1, n2)


def _p(data: PValueData, scale: Scale) -> Converted:
    estimate = _t_of_p(data.p, data.favours, data.n_intervention, data.n_control, scale)
    return Converted(estimate, "smd_from_p", in_instrument_direction=False)


def _p_bound(data: PBoundData, scale: Scale) -> Converted:
    # Converted at the bound: the true p is smaller, so the true effect is larger (understated).
    estimate = _t_of_p(data.p_below, data.favours, data.n_intervention, data.n_control, scale)
    return Converted(estimate, "smd_from_p_bound", in_instrument_direction=False, estimated=True)


def _mean_difference(data: MeanDifferenceData, scale: Scale) -> Converted:
    n1, n2 = data.n_intervention, data.n_control
    se: Any = data.se
    if se is None:
        # The schema requires both bounds when there is no SE.
        assert data.ci_lower is not None
        assert data.ci_upper is not None
        se = se_from_difference_ci(data.ci_lower, data.ci_upper, n1, n2, level=data.ci_level)
    t = t_from_mean_difference(data.mean_difference, se) * scale.t_factor
    estimate = smd_from_t(t, n1, n2)
    return Converted(estimate, "smd_from_mean_difference", in_instrument_direction=True)


def _ancova(data: AncovaData, scale: Scale) -> Converted:
    t = t_from_mean_difference(data.adjusted_mean_difference, data.se) * scale.t_factor
    estimate = smd_from_t(t, data.n_intervention, data.n_control)
    return Converted(estimate, "smd_from_ancova", in_instrument_direction=True, estimated=True)


def _effect_se(data: EffectSeData, _: Scale) -> Converted:
    estimate = smd_from_se(data.effect, data.se)
    oriented = data.positive_favours_intervention
    return Converted(estimate, "smd_from_se", in_instrument_direction=not oriented)


def _effect_ci(data: EffectCiData, _: Scale) -> Converted:
    estimate = smd_from_ci(data.effect, data.ci_lower, data.ci_upper, level=data.ci_level)
    oriented = data.positive_favours_intervention
    return Converted(estimate, "smd_from_ci", in_instrument_direction=not oriented)


_CONVERTERS: dict[type[Any], Callable[[Any, Scale], Converted]] = {
    MeansData: _means,
    MeansSeData: _means_se,
    ChangeScoreData: _change_scores,
    MediansData: _medians,
    DichotomousData: _dichotomous,
    TStatisticData: _t,
    FStatisticData: _f,
    PValueData: _p,
    PBoundData: _p_bound,
    MeanDifferenceData: _mean_difference,
    AncovaData: _ancova,
    EffectSeData: _effect_se,
    EffectCiData: _effect_ci,
}
_EFFECT_TYPES = (EffectSeData, EffectCiData)


def cluster_scale(cluster: ClusterDesign | None) -> Scale:
    """How ``cluster`` enters a conversion (the identity without one)."""
    if cluster is None:
        return Scale()
    deff = float(design_effect(cluster.mean_cluster_size, cluster.icc)[0])
    accounted = cluster.reported_accounts_for_clustering
    return Scale(math.sqrt(deff) if accounted else 1.0, deff, accounted)


def convert(data: ReportedData, cluster: ClusterDesign | None) -> Converted:
    """The engine's effect of ``data``, corrected for ``cluster`` as Handbook 23.1.4 says."""
    scale = cluster_scale(cluster)
    converted = _CONVERTERS[type(data)](data, scale)
    if cluster is None or (scale.accounted and isinstance(data, _EFFECT_TYPES)):
        return converted
    inflated = inflate_for_clustering(converted.estimate, scale.design_effect)
    return Converted(
        inflated, converted.conversion, converted.in_instrument_direction, converted.estimated
    )
