"""How numbers leave the engine: finite floats or ``None``, never NaN or infinity."""

from __future__ import annotations

import math
from collections.abc import Iterable


def finite(value: float | None) -> float | None:
    """``value`` as a float, or ``None`` when it is missing or not finite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def finite_list(values: Iterable[float]) -> list[float | None]:
    """Each value through :func:`finite`."""
    return [finite(v) for v in values]


def finite_pair(pair: tuple[float, float] | None) -> tuple[float | None, float | None] | None:
    """A two-sided interval through :func:`finite` (``None`` stays ``None``)."""
    return None if pair is None else (finite(pair[0]), finite(pair[1]))
