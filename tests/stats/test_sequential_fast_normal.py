"""The boundaries' normal density and tail are scipy's, bit for bit, without its wrappers.

:mod:`service.stats._recursion` computes them directly (scipy's own formulas), because the
argument checks of ``scipy.stats.norm`` cost more than the arithmetic at each look. These tests
hold the functions to ``scipy.stats.norm`` value for value, and whole designs (efficacy and
futility boundaries, up to a hundred looks) to what the wrappers give, exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from service.stats import _recursion, futility, sequential
from service.stats.futility import futility_boundaries
from service.stats.sequential import Spending, group_sequential_boundaries

POINTS = np.concatenate(
    [np.linspace(-45.0, 45.0, 9001), [0.0, -0.0, 1e-300, -1e-300, 8.3, -8.3, 37.5, -37.5]]
)


def test_the_density_is_scipys_bit_for_bit() -> None:
    assert np.array_equal(_recursion.normal_pdf(POINTS), stats.norm.pdf(POINTS))


def test_the_tail_is_scipys_bit_for_bit() -> None:
    assert np.array_equal(_recursion.normal_sf(POINTS), stats.norm.sf(POINTS))


def _designs() -> list[tuple[list[float], float, int, Spending]]:
    many = [float(t) for t in np.linspace(0.01, 1.2, 100)]
    uneven = [0.05, 0.11, 0.3, 0.31, 0.6, 0.95, 1.4]
    return [
        (many, 0.05, 2, Spending.OBRIEN_FLEMING),
        (uneven, 0.05, 2, Spending.OBRIEN_FLEMING),
        (uneven, 0.025, 1, Spending.POCOCK),
    ]


@pytest.mark.parametrize("design", _designs(), ids=["100-looks", "uneven", "pocock-1-sided"])
def test_boundaries_are_what_scipys_wrappers_give(
    design: tuple[list[float], float, int, Spending], monkeypatch: pytest.MonkeyPatch
) -> None:
    fractions, alpha, sides, spending = design
    fast = group_sequential_boundaries(fractions, alpha=alpha, sides=sides, spending=spending)
    fast_wedge = futility_boundaries(fractions, fast.boundaries, alpha=alpha, beta=0.1)
    monkeypatch.setattr(_recursion, "normal_pdf", stats.norm.pdf)
    monkeypatch.setattr(sequential, "normal_sf", stats.norm.sf)
    slow = group_sequential_boundaries(fractions, alpha=alpha, sides=sides, spending=spending)
    assert fast == slow
    assert futility_boundaries(fractions, slow.boundaries, alpha=alpha, beta=0.1) == fast_wedge
    assert futility.next_density is _recursion.next_density  # the wedge goes through it too
