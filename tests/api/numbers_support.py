"""Reading a JSON answer strictly: NaN and Infinity are errors, and where each float sits."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any


def _no_constant(name: str) -> float:
    raise AssertionError(f"{name} in a JSON response")


def strict_json(text: str) -> Any:
    """``text`` parsed; a ``NaN``, ``Infinity`` or ``-Infinity`` literal fails the test."""
    return json.loads(text, parse_constant=_no_constant)


def floats(value: Any, at: str = "") -> Iterator[tuple[str, float]]:
    """Every float in ``value`` with its path, e.g. ``.result.tau2_ci[0]``."""
    if isinstance(value, float):
        yield at, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from floats(item, f"{at}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from floats(item, f"{at}[{index}]")


def non_finite(document: Any) -> list[tuple[str, float]]:
    """The floats of ``document`` that are NaN or infinite (none, in a sound answer)."""
    return [(at, x) for at, x in floats(document) if not math.isfinite(x)]
