"""Trial sequential monitoring: which cumulative analyses are looks, and what they say.

RTSA's rules (Thorlund et al. 2011, the TSA manual): an analysis adding under 1% of the
required information size is not a look; the newest analysis always is one; the two-sided
Lan-DeMets O'Brien-Fleming boundaries over the looks so far
(:func:`service.stats.sequential.group_sequential_boundaries`), flat beyond the RIS; and,
when asked for, the non-binding futility wedge (:mod:`service.stats.futility`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.stats.futility import futility_boundaries
from service.stats.sequential import NEVER, group_sequential_boundaries

MIN_LOOK_SHARE = 0.01  # RTSA ignores looks that add under 1% of the required information


@dataclass(frozen=True, slots=True)
class SequentialLooks:
    """Which cumulative analyses count as looks, and what the boundaries say about them.

    ``kept``: indices (into the inputs) of the looks; ``fractions``, ``boundaries`` and
    ``crossed`` are per kept look, as ``futility`` (the inner wedge of
    :mod:`service.stats.futility`; ``None`` when not asked for). ``status`` is
    ``boundary_crossed`` when the last look's |Z| reaches its boundary, else ``futility``
    when it lies inside the wedge, else ``ris_reached`` when the information reached the
    RIS, else ``continue``.
    """

    kept: tuple[int, ...]
    fractions: tuple[float, ...]
    boundaries: tuple[float, ...]
    crossed: tuple[bool, ...]
    status: str
    futility: tuple[float, ...] | None = None


def _kept_looks(participants: Sequence[int], ris: float) -> list[int]:
    kept: list[int] = []
    last = 0.0
    newest = len(participants) - 1
    for index, n in enumerate(participants):
        reached = last >= ris  # all alpha is spent: only the newest analysis is a look now
        adds = n - last >= MIN_LOOK_SHARE * ris and not reached
        if adds:
            kept.append(index)
            last = float(n)
    if participants and participants[newest] > 0 and newest not in kept:
        # The newest analysis is the current answer: always a look. After an exclusion it has
        # less information than earlier looks, which it replaces so information grows.
        while kept and participants[kept[-1]] >= participants[newest]:
            kept.pop()
        kept.append(newest)
    return kept


def _final_boundary_stands(
    boundaries: Sequence[float], *, spent_nothing: float = NEVER
) -> tuple[float, ...]:
    """A look after all alpha (or beta) was spent, beyond the RIS, keeps the last boundary
    that spent some, as TSA's software draws the boundaries flat beyond the RIS."""
    result: list[float] = []
    for z in boundaries:
        stands = z == spent_nothing and result and result[-1] != spent_nothing
        result.append(result[-1] if stands else z)
    return tuple(result)


def _status(crossed: bool, inside_wedge: bool, fraction: float) -> str:
    if crossed:
        return "boundary_crossed"
    if inside_wedge:
        return "futility"
    return "ris_reached" if fraction >= 1.0 else "continue"


def sequential_looks(
    participants: Sequence[int],
    z: Sequence[float],
    *,
    ris: float,
    alpha: float = 0.05,
    futility_beta: float | None = None,
) -> SequentialLooks:
    """Two-sided O'Brien-Fleming monitoring of cumulative analyses (as RTSA does).

    A cumulative analysis is a look when it adds at least 1% of ``ris`` participants since
    the last look. The newest analysis always is one (it is the current answer), and after an
    exclusion it replaces the earlier looks with as much information or more, so information
    always grows. Once the information reached the RIS, only the newest analysis is a further
    look (all alpha is spent), which bounds the number of looks by about 1 / 1% + 2.

    ``futility_beta``: also the non-binding futility wedge spending this type II error
    (:func:`service.stats.futility.futility_boundaries`; the efficacy boundaries ignore it).
    """
    kept = _kept_looks(participants, ris)
    if not kept:
        return SequentialLooks((), (), (), (), "continue")
    fractions = tuple(participants[i] / ris for i in kept)
    spent = group_sequential_boundaries(fractions, alpha=alpha, sides=2).boundaries
    boundaries = _final_boundary_stands(spent)
    crossed = tuple(
        math.isfinite(z[i]) and abs(z[i]) >= b for i, b in zip(kept, boundaries, strict=True)
    )
    wedge = None
    if futility_beta is not None:
        design = futility_boundaries(fractions, spent, alpha=alpha, beta=futility_beta)
        wedge = _final_boundary_stands(design.boundaries, spent_nothing=0.0)
    last = z[kept[-1]]
    inside = wedge is not None and math.isfinite(last) and abs(last) < wedge[-1]
    status = _status(crossed[-1], inside, fractions[-1])
    return SequentialLooks(tuple(kept), fractions, boundaries, crossed, status, wedge)
