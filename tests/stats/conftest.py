"""Helpers shared by the engine tests: metafor reference results and a tolerance check."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REFERENCE_DIR = Path(__file__).parent / "reference"
DATASETS = ("normand1999", "raudenbush1985", "bangertdrowns2004")

# The tolerance: 1e-6 relative, 1e-9 absolute near zero.
RTOL = 1e-6
ATOL = 1e-9


@cache
def load_reference(name: str) -> dict[str, Any]:
    """One metafor 3.8-1 reference file (see reference/README.md for its fields)."""
    with (REFERENCE_DIR / f"{name}.json").open() as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def assert_close(
    actual: Any, expected: Any, *, what: str = "", rtol: float = RTOL, atol: float = ATOL
) -> None:
    """Compare numbers or (nested) lists with metafor's; ``None`` must match ``None``."""
    if isinstance(expected, list):
        assert actual is not None, f"{what}: expected a list, got None"
        assert len(actual) == len(expected), f"{what}: length"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, what=f"{what}[{i}]", rtol=rtol, atol=atol)
        return
    if expected is None:
        assert actual is None, f"{what}: expected None, got {actual!r}"
        return
    assert actual is not None, f"{what}: expected {expected!r}, got None"
    a, e = float(actual), float(expected)
    assert math.isclose(a, e, rel_tol=rtol, abs_tol=atol), f"{what}: {a!r} != {e!r}"


@pytest.fixture(params=DATASETS)
def reference(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each reference dataset in turn."""
    return load_reference(request.param)
