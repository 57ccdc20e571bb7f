"""How numbers leave the engine: finite floats or ``None``, never NaN or infinity."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np

from service.errors import InvalidInputError


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


@contextmanager
def double_precision_guard(field: str) -> Iterator[None]:
    """Run engine code so that arithmetic overflowing double precision is a 422, not a 500.

    Inside, numpy raises on overflow instead of warning and going on with infinities; the
    engine's deliberate NaNs (undefined values, which leave as ``None``) stay silent.
    Python's own float overflow raises :class:`OverflowError`, and is answered alike.
    """
    try:
        with np.errstate(over="raise", divide="ignore", invalid="ignore", under="ignore"):
            yield
    except (FloatingPointError, OverflowError, ZeroDivisionError) as exc:
        detail = "The numbers are too extreme to be analysed in double precision."
        raise InvalidInputError(detail, errors=[{"field": field, "message": detail}]) from exc
