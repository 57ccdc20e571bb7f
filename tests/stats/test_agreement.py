"""Cohen's kappa against a hand computation."""

from __future__ import annotations

import pytest

from service.stats.agreement import cohens_kappa


def test_kappa_by_hand() -> None:
    first = ["low", "low", "sc", "high", "low", "sc", "low", "high", "low", "low"]
    second = ["low", "sc", "sc", "high", "low", "low", "low", "high", "high", "low"]
    # 7 of 10 agree: p_o = 0.7. Marginals: first low 6, sc 2, high 2; second low 5, sc 2,
    # high 3; p_e = (6*5 + 2*2 + 2*3) / 100 = 0.40; kappa = (0.7 - 0.4) / (1 - 0.4) = 0.5.
    result = cohens_kappa(first, second)
    assert (result.n, result.agreed) == (10, 7)
    assert result.percent == pytest.approx(70.0)
    assert result.expected == pytest.approx(0.40)
    assert result.kappa == pytest.approx(0.5)


def test_kappa_edge_cases() -> None:
    assert cohens_kappa([], []).kappa is None
    assert cohens_kappa(["low"] * 3, ["low"] * 3).kappa is None  # p_e = 1: undefined
    assert cohens_kappa(["low", "high"], ["high", "low"]).kappa == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same items"):
        cohens_kappa(["low"], [])
