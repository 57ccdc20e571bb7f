"""From evidence rows to one effect per study: eligibility, time point, several instruments.

The steps follow the review (Burke et al. 2019) and the Cochrane Handbook (section 6.2):

1. eligibility: the outcome, and the specification's category, designs, comparators and
   minimum quality;
2. one time point per study: the earliest result labelled ``post`` (or ``follow-up``), or the
   result nearest to N weeks (ties go to the earlier one);
3. with ``multi_arm=combine``, the comparisons of several intervention arms with one shared
   control are merged into one (Cochrane Handbook 23.3.4, :mod:`.multi_arm`);
4. one effect per study: the study's effects at that time point (several instruments, or
   several comparisons) are averaged with :func:`combine_correlated`, which assumes a
   correlation of 0.5 between them (Borenstein et al. 2009, ch. 24); or, with
   ``multiple=first``, the result the study lists first is used.

Studies come out ordered by year, then id, so that cumulative analyses run in time order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from service.db.repositories.pooled import EvidenceRow
from service.schemas.risk_of_bias import overall_of
from service.stats.aggregate import DEFAULT_CORRELATION, combine_correlated
from service.usecases.pooled.multi_arm import (
    comparison_of,
    groups_sharing_a_control,
    merged_effect,
)
from service.usecases.pooled.spec import MultiArm, Multiple, PooledSpec, Timepoint

AVERAGING = (
    "Several effects of one study at the chosen time point (several instruments, or several "
    "comparisons) are averaged; the variance of the average assumes a correlation of "
    f"{DEFAULT_CORRELATION:g} between them (Borenstein et al. 2009, Introduction to "
    "Meta-Analysis, eq. 24.6; metafor's aggregate(rho = 0.5, weighted = FALSE))."
)
FIRST = "The result the study lists first at the chosen time point is used; others are ignored."


@dataclass(frozen=True, slots=True)
class StudyEffect:
    """One study's single effect on one outcome, and what it was made of."""

    study_id: int
    label: str
    year: int
    category: str
    design: str
    randomized: bool
    comparator: str
    quality: str
    timepoint_weeks: float
    timepoint_label: str
    instruments: tuple[str, ...]
    participants: int
    yi: float
    vi: float
    data_warnings: tuple[dict[str, str], ...] = ()  # of the results used, for the reader
    risk_of_bias: str | None = None  # the worst overall judgement of the results used
    # The tool and domain judgements of the result with that judgement (for the robvis plots).
    risk_of_bias_tool: str | None = None
    risk_of_bias_domains: tuple[tuple[str, str], ...] = ()
    parts: tuple[tuple[float, float], ...] = ()  # (yi, vi) of each result used (dependence)
    # With multi_arm=shared_control, per part: (obs, intervention arm, control arm, their
    # randomized ns), vcalc's obs/grp1/grp2/w1/w2 (see service.stats.shared_groups).
    part_groups: tuple[tuple[str, str, str, int, int], ...] = ()


def valid_at(rows: Iterable[EvidenceRow], version: int) -> list[EvidenceRow]:
    """The rows of revisions valid at ``version`` (for histories, which load every revision)."""
    return [
        r for r in rows if r.valid_from <= version and (r.valid_to is None or r.valid_to > version)
    ]


def select_effects(
    rows: Iterable[EvidenceRow], spec: PooledSpec, *, min_rank: int | None
) -> list[StudyEffect]:
    """One effect per eligible study; ``min_rank`` is the rank of ``spec.min_quality``."""
    by_study: dict[int, list[EvidenceRow]] = {}
    for row in rows:
        if _eligible(row, spec, min_rank):
            by_study.setdefault(row.study_id, []).append(row)
    effects = []
    for study_rows in by_study.values():
        chosen = _at_timepoint(study_rows, spec.timepoint)
        if chosen:
            merged_arms: dict[int, dict[int, int]] = {}
            if spec.multi_arm is MultiArm.COMBINE:
                chosen, merged_arms = _merge_arms(chosen)
            effect = _combine(chosen, spec.multiple, merged_arms)
            if spec.multi_arm is MultiArm.SHARED_CONTROL:
                effect = replace(effect, part_groups=part_groups(chosen, spec.multiple))
            effects.append(effect)
    return sorted(effects, key=lambda e: (e.year, e.study_id))


def _eligible(row: EvidenceRow, spec: PooledSpec, min_rank: int | None) -> bool:
    return (
        row.outcome == spec.outcome
        and (spec.category is None or row.category == spec.category)
        and row.design in spec.designs
        and (not spec.comparators or row.comparator in spec.comparators)
        and (min_rank is None or row.quality_rank >= min_rank)
    )


def _at_timepoint(rows: Sequence[EvidenceRow], timepoint: Timepoint) -> list[EvidenceRow]:
    """The study's rows at its chosen time point (none when it has no such result)."""
    if len(rows) == 1:  # most studies: nothing to choose between
        only = rows[0]
        return (
            list(rows)
            if timepoint.weeks is not None or only.timepoint_label == timepoint.label
            else []
        )
    if timepoint.weeks is None:
        rows = [r for r in rows if r.timepoint_label == timepoint.label]
        if not rows:
            return []
        weeks = min(r.timepoint_weeks for r in rows)
    else:
        target = timepoint.weeks
        weeks = min((abs(r.timepoint_weeks - target), r.timepoint_weeks) for r in rows)[1]
    return sorted((r for r in rows if r.timepoint_weeks == weeks), key=lambda r: r.position)


def part_groups(
    rows: Sequence[EvidenceRow], multiple: Multiple
) -> tuple[tuple[str, str, str, int, int], ...]:
    """vcalc's obs, grp1, grp2, w1, w2 of the parts :func:`_combine` keeps. ``obs`` is the
    instrument, numbered where one study reports the same comparison on it twice (vcalc would
    otherwise make the two one observation, correlation 1)."""
    used = rows[:1] if multiple is Multiple.FIRST else rows
    seen: dict[tuple[str, int, int], int] = {}
    out = []
    for r in used:
        key = (r.instrument, r.intervention_arm_id, r.control_arm_id)
        seen[key] = seen.get(key, 0) + 1
        obs = r.instrument if seen[key] == 1 else f"{r.instrument}#{seen[key]}"
        out.append(
            (obs, str(r.intervention_arm_id), str(r.control_arm_id), r.n_intervention, r.n_control)
        )
    return tuple(out)


def _merge_arms(
    rows: Sequence[EvidenceRow],
) -> tuple[list[EvidenceRow], dict[int, dict[int, int]]]:
    """``multi_arm=combine``: each group of comparisons with one shared control that can be
    merged (:mod:`.multi_arm`) becomes one row, the first's, carrying the merged effect, all the
    group's data warnings and its worst risk-of-bias rating; and, by that row's position, the
    merged intervention arms (id: participants), which the study's participants count."""
    out: list[EvidenceRow] = []
    arms: dict[int, dict[int, int]] = {}
    for group in groups_sharing_a_control(rows):
        merged = merged_effect([comparison_of(row) for row in group])
        if merged is None:
            out += group
            continue
        overalls = [overall_of(r.risk_of_bias) for r in group]
        worst = worst_risk_of_bias(overalls)
        arms[group[0].position] = {r.intervention_arm_id: r.n_intervention for r in group}
        out.append(
            replace(
                group[0],
                yi=merged.yi,
                vi=merged.vi,
                data_warnings=tuple(w for r in group for w in r.data_warnings),
                risk_of_bias=None if worst is None else group[overalls.index(worst)].risk_of_bias,
            )
        )
    return sorted(out, key=lambda r: r.position), arms


def _combine(
    rows: Sequence[EvidenceRow],
    multiple: Multiple,
    merged_arms: dict[int, dict[int, int]] | None = None,
) -> StudyEffect:
    used = rows[:1] if multiple is Multiple.FIRST else rows
    first = used[0]
    yi, vi = first.yi, first.vi
    if len(used) > 1:
        combined = combine_correlated([r.yi for r in used], [r.vi for r in used])
        yi, vi = combined.yi, combined.vi
    arms: dict[int, int] = {}
    for r in used:
        arms.update((merged_arms or {}).get(r.position, {r.intervention_arm_id: r.n_intervention}))
    arms.update({r.control_arm_id: r.n_control for r in used})
    return StudyEffect(
        study_id=first.study_id,
        label=study_label(first.authors, first.year, first.study_id),
        year=first.year,
        category=first.category,
        design=first.design,
        randomized=first.randomized,
        comparator=first.comparator,
        quality=first.quality_rating,
        timepoint_weeks=first.timepoint_weeks,
        timepoint_label=first.timepoint_label,
        instruments=tuple(dict.fromkeys(r.instrument for r in used)),
        participants=sum(arms.values()),
        yi=yi,
        vi=vi,
        data_warnings=tuple(w for r in used for w in r.data_warnings),
        **_risk_of_bias(used),
        parts=tuple((r.yi, r.vi) for r in used),
    )


def _risk_of_bias(rows: Sequence[EvidenceRow]) -> dict[str, Any]:
    overalls = [overall_of(r.risk_of_bias) for r in rows]
    worst = worst_risk_of_bias(overalls)
    if worst is None:
        return {}
    stored = rows[overalls.index(worst)].risk_of_bias
    assert stored is not None
    domains = tuple((code, d["judgement"]) for code, d in stored["domains"].items())
    return {
        "risk_of_bias": worst,
        "risk_of_bias_tool": stored["tool"],
        "risk_of_bias_domains": domains,
    }


_RISK_ORDER = {"low": 0, "some_concerns": 1, "unclear": 1, "high": 2}


def worst_risk_of_bias(judgements: Sequence[str | None]) -> str | None:
    """The worst of the results' overall judgements; None when any result is not assessed."""
    if not judgements or any(j is None for j in judgements):
        return None
    return max((j for j in judgements if j is not None), key=_RISK_ORDER.__getitem__)


def study_label(authors: str, year: int, study_id: int) -> str:
    """``"Jansen A 2016 (#12)"``: first author and year, with the id to keep labels unique."""
    first_author = authors.split(",")[0].strip()
    return f"{first_author} {year} (#{study_id})"
