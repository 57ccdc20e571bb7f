"""combine_correlated: Borenstein et al. (2009), eq. 24.6, worked by hand and as a matrix sum.

The matrix form is metafor's ``aggregate(escalc, cluster, rho = r, weighted = FALSE)``:
``yi = mean(y)``, ``vi = sum(V) / m^2`` with ``V[i, j] = r * sqrt(v_i * v_j)`` off the diagonal.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.stats.aggregate import DEFAULT_CORRELATION, combine_correlated
from service.stats.errors import StatsInputError


def _matrix_form(yi: list[float], vi: list[float], rho: float) -> tuple[float, float]:
    se = np.sqrt(np.asarray(vi))
    V = rho * np.outer(se, se)
    np.fill_diagonal(V, vi)
    return float(np.mean(yi)), float(V.sum()) / len(yi) ** 2


def test_two_instruments_by_hand() -> None:
    # (0.04 + 0.09 + 2 * 0.5 * 0.2 * 0.3) / 2^2 = 0.19 / 4
    combined = combine_correlated([0.2, 0.4], [0.04, 0.09], rho=0.5)
    assert combined.yi == pytest.approx(0.3, abs=1e-15)
    assert combined.vi == pytest.approx(0.0475, abs=1e-15)
    assert (combined.m, combined.rho) == (2, 0.5)


@pytest.mark.parametrize(("rho", "expected"), [(0.0, 0.0325), (1.0, 0.0625)])
def test_the_correlation_bounds(rho: float, expected: float) -> None:
    # rho = 0: independent, mean of variances / m; rho = 1: the squared mean SE.
    assert combine_correlated([0.2, 0.4], [0.04, 0.09], rho=rho).vi == pytest.approx(expected)


def test_a_single_effect_is_unchanged() -> None:
    combined = combine_correlated([0.37], [0.051])
    assert (combined.yi, combined.vi, combined.m) == (0.37, 0.051, 1)
    assert combined.rho == DEFAULT_CORRELATION


@pytest.mark.parametrize(
    ("yi", "vi", "rho", "field"),
    [([], [], 0.5, "yi"), ([0.1], [0.0], 0.5, "vi"), ([0.1], [0.1], 1.5, "rho")],
)
def test_invalid_input_names_the_field(yi: list, vi: list, rho: float, field: str) -> None:
    with pytest.raises(StatsInputError) as error:
        combine_correlated(yi, vi, rho=rho)
    assert error.value.field == field


effects = st.lists(st.tuples(st.floats(-3, 3), st.floats(0.001, 1.0)), min_size=1, max_size=6)


@given(effects, st.floats(0.0, 1.0))
def test_equals_the_matrix_form_in_any_order(pairs: list, rho: float) -> None:
    yi, vi = [p[0] for p in pairs], [p[1] for p in pairs]
    expected = _matrix_form(yi, vi, rho)
    for order in (yi, vi), (yi[::-1], vi[::-1]):
        combined = combine_correlated(*order, rho=rho)
        assert combined.yi == pytest.approx(expected[0], abs=1e-12)
        assert combined.vi == pytest.approx(expected[1], rel=1e-12)
    # With rho = 1 the average is never more precise than the most precise instrument.
    assert combine_correlated(yi, vi, rho=1.0).vi >= min(vi) * (1 - 1e-12)
