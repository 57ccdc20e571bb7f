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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.schemas.reported import MeansData, ReportedData
from service.schemas.studies import ClusterDesign
from service.stats import ENGINE_VERSION
from service.stats.conversions import harmonize_direction
from service.stats.effect_sizes import smd_from_means
from service.stats.errors import StatsInputError
from service.usecases.studies.forms import convert

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


def _means_together(items: list[tuple[MeansData, bool]]) -> list[Derived] | None:
    """Effects from means in one engine call; ``None`` when the engine refuses the inputs."""
    arms = [(d.intervention, d.control) for d, _ in items]
    columns = np.array(
        [[a.n, a.mean, a.sd, c.n, c.mean, c.sd] for a, c in arms], dtype=np.float64
    ).T
    flips = np.array([not higher_is_better for _, higher_is_better in items], dtype=np.bool_)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            estimate = smd_from_means(*columns)
            yi = harmonize_direction(estimate.yi, lower_is_better=flips)
    except StatsInputError:
        return None
    derived: list[Derived] = []
    for g, v, flip in zip(yi.tolist(), estimate.vi.tolist(), flips.tolist(), strict=True):
        try:
            derived.append(_accepted(g, v, flip, "smd_from_means"))
        except StatsInputError as exc:
            derived.append(exc)
    return derived


def derive_effects(requests: Sequence[EffectRequest]) -> list[Derived]:
    """:func:`derive_effect` of each request, or the error it raises, in the order given.

    Results reported as means without a cluster design (most of them) go to the engine in one
    vectorised call: a batch of 1,000 studies has some 2,000 results, and checking the inputs
    of one scalar call after another cost more than the arithmetic. Elementwise, the numbers
    and the errors are those of :func:`derive_effect`; it derives the other forms one by one.
    """
    derived: list[Derived | None] = [None] * len(requests)
    means = [
        (index, r.data, r.higher_is_better)
        for index, r in enumerate(requests)
        if isinstance(r.data, MeansData) and r.cluster is None
    ]
    together = _means_together([(d, h) for _, d, h in means]) if means else None
    for (index, _, _), effect in zip(means, together or [], strict=False):
        derived[index] = effect
    return [
        effect if effect is not None else _alone(requests[index])
        for index, effect in enumerate(derived)
    ]
