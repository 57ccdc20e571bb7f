"""Derived effect sizes: where a stored outcome result meets the statistics engine.

Each reported form maps to one engine conversion, which returns Hedges' g (``yi``) and its
sampling variance (``vi``) with the intervention as arm 1 and the control as arm 2.

Direction. Signed forms (means, change scores, t, and effects reported with
``positive_favours_intervention: false``) come out in the instrument's own direction, and are
flipped for instruments where lower is better (ISMI, SSMIS), so that a stored ``yi`` is positive
whenever the intervention did better. F and p carry no sign; the client states the arm they
favour and the engine orients them, so they are never flipped again.

Cluster trials (Cochrane Handbook, section 23.1.4). The effect always comes from the actual
ns, in every form, so that one trial reported as means, t, F, p or an effect with its CI gives
the same g; only the variance changes. A statistic that ignores clustering (the default) has
its variance multiplied by the design effect ``1 + (m - 1) * icc``. A statistic that already
accounts for clustering (``reported_accounts_for_clustering``) is taken back to the individual
scale first (t, and a mean difference's t, times sqrt(design effect); F times the design
effect), so its g is that of the means too, and its variance is the inflated one; an effect
with an SE or CI that accounts for clustering is taken as reported.

Estimated effects. Medians (mean and SD as metafor's ``conv.fivenum``), a p value given as a
bound (converted at the bound, so the effect is understated), a dichotomised scale (OR2DL) and
an ANCOVA-adjusted difference (its SD is the residual SD) rest on approximations; they are
stored with ``estimated`` true and their conversion's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.schemas.reported import ChangeScoreData, MeansData, ReportedData, TStatisticData
from service.schemas.studies import ClusterDesign
from service.stats import ENGINE_VERSION
from service.stats.conversions import harmonize_direction, smd_from_t
from service.stats.effect_sizes import EffectSizes, smd_from_change_scores, smd_from_means
from service.stats.errors import StatsInputError
from service.stats.reported_forms import inflate_for_clustering
from service.usecases.studies.forms import Scale, cluster_scale, convert

# Plausibility bounds on a stored effect. Standardized mean differences in trials of psychosocial
# interventions rarely exceed 2; |g| > 20 or a variance outside these bounds is an extraction
# error (an SE typed as an SD, a decimal point), and would otherwise dominate or break every
# pooled answer for the outcome until someone noticed. n <= 1,000,000 per arm keeps a genuine
# SMD variance above about 2e-6.
MAX_ABS_SMD = 20.0
MIN_VARIANCE = 1e-8
MAX_VARIANCE = 1e4


@dataclass(frozen=True, slots=True)
class DerivedEffect:
    """An effect size as stored beside the data it was derived from."""

    yi: float
    vi: float
    sign_flipped: bool
    conversion: str
    engine_version: str
    estimated: bool = False


def _scalar(values: Any) -> float:
    return float(np.asarray(values, dtype=float).reshape(-1)[0])


@dataclass(frozen=True, slots=True)
class EffectRequest:
    """One result's reported data, its instrument's direction and its cluster design."""

    data: ReportedData
    higher_is_better: bool
    cluster: ClusterDesign | None = None


def _accepted(
    yi: float, vi: float, flip: bool, conversion: str, *, estimated: bool = False
) -> DerivedEffect:
    if not (np.isfinite(yi) and np.isfinite(vi) and vi > 0):
        raise StatsInputError("these numbers give no finite effect size with a positive variance")
    if abs(yi) > MAX_ABS_SMD or not MIN_VARIANCE <= vi <= MAX_VARIANCE:
        raise StatsInputError(
            f"these numbers give g = {yi:.4g} with variance {vi:.4g}, outside the plausible range "
            f"(|g| <= {MAX_ABS_SMD:g}, {MIN_VARIANCE:g} <= variance <= {MAX_VARIANCE:g}): "
            "check for an SE entered as an SD, or a misplaced decimal point"
        )
    return DerivedEffect(
        yi=yi,
        vi=vi,
        sign_flipped=flip,
        conversion=conversion,
        engine_version=ENGINE_VERSION,
        estimated=estimated,
    )


def derive_effect(
    data: ReportedData, *, higher_is_better: bool, cluster: ClusterDesign | None = None
) -> DerivedEffect:
    """The harmonised effect size of one reported result.

    Raises
    ------
    StatsInputError
        When the engine cannot convert the numbers, or they give a non-finite effect.
    """
    # Extreme but finite inputs (means near 1e308) overflow to inf or nan: checked just
    # below and answered as a 422, so numpy's warnings about them are noise.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        converted = convert(data, cluster)
        flip = converted.in_instrument_direction and not higher_is_better
        yi = _scalar(harmonize_direction(converted.estimate.yi, lower_is_better=flip))
        vi = _scalar(converted.estimate.vi)
    return _accepted(yi, vi, flip, converted.conversion, estimated=converted.estimated)


Derived = DerivedEffect | StatsInputError


def _alone(request: EffectRequest) -> Derived:
    try:
        return derive_effect(
            request.data, higher_is_better=request.higher_is_better, cluster=request.cluster
        )
    except StatsInputError as exc:
        return exc


Item = tuple[Any, bool, Scale]
"""A result's reported data, whether higher is better, and its cluster scale."""


def _means_columns(items: Sequence[Item]) -> list[list[float]]:
    return [
        [a.n, a.mean, a.sd, c.n, c.mean, c.sd]
        for a, c in ((d.intervention, d.control) for d, _, _ in items)
    ]


def _change_columns(items: Sequence[Item]) -> list[list[float]]:
    return [
        [a.n, a.mean_change, a.sd_change, c.n, c.mean_change, c.sd_change]
        for a, c in ((d.intervention, d.control) for d, _, _ in items)
    ]


def _t_columns(items: Sequence[Item]) -> list[list[float]]:
    # t back on the individual scale, as forms._t computes it: the same float.
    return [[d.t * scale.t_factor, d.n_intervention, d.n_control] for d, _, scale in items]


@dataclass(frozen=True, slots=True)
class _Together:
    """A form the engine converts many at a time (without a cluster design): its columns, in
    the order of the engine's arguments, the engine's conversion and its name (as in forms)."""

    columns: Callable[[Sequence[Item]], list[list[float]]]
    engine: Callable[..., EffectSizes]
    conversion: str


# The signed forms that are most of what is reported; each converts exactly as forms.convert
# does (in the instrument's direction, nothing estimated, the variance times the design effect
# of a cluster design), so only the call is shared.
_TOGETHER: dict[type[Any], _Together] = {
    MeansData: _Together(_means_columns, smd_from_means, "smd_from_means"),
    ChangeScoreData: _Together(_change_columns, smd_from_change_scores, "smd_from_change_scores"),
    TStatisticData: _Together(_t_columns, smd_from_t, "smd_from_t"),
}


def _derived_together(form: _Together, items: list[Item]) -> list[Derived] | None:
    """Effects of one form in one engine call; ``None`` when the engine refuses the inputs."""
    columns = np.array(form.columns(items), dtype=np.float64).T
    flips = np.array([not higher_is_better for _, higher_is_better, _ in items], dtype=np.bool_)
    clustered = any(scale.design_effect != 1.0 for _, _, scale in items)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            estimate = form.engine(*columns)
            if clustered:  # as forms.convert inflates each (times 1.0 leaves a float as it is)
                deff = np.array([scale.design_effect for _, _, scale in items], dtype=np.float64)
                estimate = inflate_for_clustering(estimate, deff)
            yi = harmonize_direction(estimate.yi, lower_is_better=flips)
    except StatsInputError:
        return None
    derived: list[Derived] = []
    for g, v, flip in zip(yi.tolist(), estimate.vi.tolist(), flips.tolist(), strict=True):
        try:
            derived.append(_accepted(g, v, flip, form.conversion))
        except StatsInputError as exc:
            derived.append(exc)
    return derived


def derive_effects(requests: Sequence[EffectRequest]) -> list[Derived]:
    """:func:`derive_effect` of each request, or the error it raises, in the order given.

    Results reported as means, change scores or t (most of them, cluster designs included) go
    to the engine in one vectorised call per form: a batch of 1,000 studies has some 2,000
    results, and checking the inputs of one scalar call after another cost more than the
    arithmetic. Elementwise, the numbers and the errors are those of :func:`derive_effect`
    (a form whose call the engine refuses is derived one by one, as are the other forms).
    """
    derived: list[Derived | None] = [None] * len(requests)
    groups: dict[type[Any], list[tuple[int, Item]]] = {}
    for index, request in enumerate(requests):
        if type(request.data) in _TOGETHER:
            try:
                scale = cluster_scale(request.cluster)
            except StatsInputError:
                continue  # derived alone, which raises the same error
            item = (request.data, request.higher_is_better, scale)
            groups.setdefault(type(request.data), []).append((index, item))
    for kind, members in groups.items():
        indices = [index for index, _ in members]
        items = [item for _, item in members]
        together = _derived_together(_TOGETHER[kind], items)
        for index, effect in zip(indices, together or [], strict=together is not None):
            derived[index] = effect
    return [
        effect if effect is not None else _alone(requests[index])
        for index, effect in enumerate(derived)
    ]
