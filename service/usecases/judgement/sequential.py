"""``POST /v1/sequential/boundaries``: Lan-DeMets boundaries of a design (nothing stored)."""

from __future__ import annotations

from service.errors import InvalidInputError
from service.schemas.sequential import BoundariesRead, BoundariesRequest
from service.stats.sequential import (
    NEVER,
    SequentialBoundaries,
    SequentialInputError,
    Spending,
    group_sequential_boundaries,
)

METHOD = (
    "Lan-DeMets alpha spending, boundaries by recursive numerical integration "
    "(Armitage, McPherson and Rowe 1969; as ldbounds and gsDesign)"
)


def finite_boundary(z: float) -> float | None:
    """A boundary, or ``None`` for a look that spends no alpha (no Z can cross it)."""
    return None if z >= NEVER else z


def boundaries_of(
    fractions: list[float], *, alpha: float, sides: int, spending: Spending
) -> SequentialBoundaries:
    """The design's boundaries; 422 naming ``information_fractions`` when it has none."""
    try:
        return group_sequential_boundaries(fractions, alpha=alpha, sides=sides, spending=spending)
    except SequentialInputError as exc:
        raise InvalidInputError(
            str(exc), errors=[{"field": "information_fractions", "message": str(exc)}]
        ) from exc


def sequential_boundaries(request: BoundariesRequest) -> BoundariesRead:
    """Boundaries in z per look, their spending and null crossing probabilities."""
    design = boundaries_of(
        request.information_fractions,
        alpha=request.alpha,
        sides=request.sides,
        spending=Spending(request.spending),
    )
    upper = [finite_boundary(z) for z in design.boundaries]
    return BoundariesRead(
        information_fractions=list(design.information_fractions),
        alpha=design.alpha,
        sides=design.sides,
        spending=request.spending,
        boundaries=upper,
        lower_boundaries=[None if z is None else -z for z in upper] if design.sides == 2 else None,
        cumulative_alpha=list(design.cumulative_alpha),
        crossing_probability=list(design.crossing_probability),
        nominal_p=[None if z is None else p for z, p in zip(upper, design.nominal_p, strict=True)],
        method=METHOD,
    )
