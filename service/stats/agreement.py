"""Agreement between two raters: percent agreement and Cohen's kappa.

Cohen's kappa (Cohen 1960, Educ Psychol Meas 20:37): ``(p_o - p_e) / (1 - p_e)``, with ``p_o``
the observed share of items on which the raters agree and ``p_e`` the agreement expected by
chance from each rater's marginal proportions, ``sum_c p_1(c) p_2(c)``. Undefined (``None``)
when ``p_e = 1`` (both raters used one and the same category for every item), as in R's
``irr::kappa2``, which then returns NaN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Agreement:
    """``n`` items; ``kappa`` is None when undefined (no items, or chance agreement 1)."""

    n: int
    agreed: int
    percent: float | None
    kappa: float | None
    expected: float | None


def cohens_kappa(first: Sequence[str], second: Sequence[str]) -> Agreement:
    """Percent agreement and Cohen's (unweighted) kappa of two raters on the same items."""
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    n = len(first)
    if n == 0:
        return Agreement(0, 0, None, None, None)
    agreed = sum(a == b for a, b in zip(first, second, strict=True))
    observed = agreed / n
    one, two = Counter(first), Counter(second)
    expected = sum(one[c] * two[c] for c in one) / (n * n)
    kappa = None if expected == 1.0 else (observed - expected) / (1.0 - expected)
    return Agreement(n, agreed, 100.0 * observed, kappa, expected)
