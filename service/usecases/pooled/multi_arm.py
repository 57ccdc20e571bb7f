"""Multi-arm trials with ``multi_arm=combine``: intervention arms merged against a shared control.

A trial with two (or more) peer-support arms and one control reports one comparison per arm,
each against the same control group. Entered as separate effects, the control's participants
count twice (a unit-of-analysis error, Cochrane Handbook version 6.4, section 23.3.4). The
Handbook's recommended remedy merges the intervention arms into one group, whose size, mean
and SD are those of the pooled sample (Table 6.5.a, :func:`service.stats.arms.combine_groups`),
and compares it with the control as in a two-arm trial.

The merged effect is derived exactly as a stored two-arm result's (:func:`derive_effect`: Hedges'
g from means, metafor's ``escalc(measure = "SMD")``, in the instrument's direction), so a trial
entered with its arms already merged gets the same effect. It applies to the comparisons of one
study at the chosen time point that share an instrument and a control arm and compare different
intervention arms, when every one of them is reported as post-intervention means and SDs
without a cluster design and all report the same control (mean, SD and n). Other forms (a t
statistic, a p value, change scores...) carry no arm means to merge: those comparisons stay
separate effects, as with ``multi_arm=separate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from service.db.repositories.pooled import EvidenceRow
from service.schemas.reported import ArmMeans, MeansData
from service.stats.arms import Group, combine_groups
from service.stats.errors import StatsInputError
from service.usecases.studies.effect_sizes import DerivedEffect, derive_effect

MERGING = (
    " Trials with several intervention arms against one shared control had the arms merged into "
    "one group (Cochrane Handbook 6.4, section 23.3.4 and Table 6.5.a: N = N1 + N2, the weighted "
    "mean, the SD of the pooled sample) where the arms are reported as means and SDs; otherwise "
    "each comparison is one of the study's effects."
)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One arm against the control, as merging reads it: ``means`` is ``None`` unless the
    comparison is reported as post-intervention means and SDs without a cluster design."""

    intervention_arm: object  # an arm's id (stored rows) or label (a study as read)
    means: MeansData | None
    sign_flipped: bool


def groups_sharing_a_control(rows: Sequence[EvidenceRow]) -> list[list[EvidenceRow]]:
    """The rows grouped by (instrument, control arm), in the order of their first row."""
    groups: dict[tuple[str, int], list[EvidenceRow]] = {}
    for row in rows:
        groups.setdefault((row.instrument, row.control_arm_id), []).append(row)
    return list(groups.values())


def comparison_of(row: EvidenceRow) -> Comparison:
    """A stored row (loaded with its reported data) as a :class:`Comparison`."""
    means = None
    if row.form == "means" and row.reported is not None and not row.clustered:
        try:
            means = MeansData.model_validate(row.reported)
        except ValidationError:
            means = None
    return Comparison(row.intervention_arm_id, means, row.sign_flipped)


def merged_effect(comparisons: Sequence[Comparison]) -> DerivedEffect | None:
    """The effect of the merged intervention arms against the shared control, or ``None``
    where the comparisons cannot be merged (see the module docstring)."""
    arms = {c.intervention_arm for c in comparisons}
    if len(comparisons) < 2 or len(arms) != len(comparisons):
        return None
    if len({c.sign_flipped for c in comparisons}) != 1:
        return None
    data = [c.means for c in comparisons if c.means is not None]
    if len(data) != len(comparisons):
        return None
    if len({(d.control.n, d.control.mean, d.control.sd) for d in data}) != 1:
        return None  # not one control group as reported: nothing to merge against
    try:
        group = combine_groups([Group(d.intervention.n, d.intervention.mean, d.intervention.sd)
                                for d in data])  # fmt: skip
        merged = MeansData(
            form="means",
            intervention=ArmMeans(mean=group.mean, sd=group.sd, n=group.n),
            control=data[0].control,
        )
        # Means are in the instrument's direction: flipped exactly where the comparisons were.
        return derive_effect(merged, higher_is_better=not comparisons[0].sign_flipped)
    except (StatsInputError, ValidationError):
        return None
