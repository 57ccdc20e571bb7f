"""Lan-DeMets boundaries, the required information size and the diversity D2.

References: the SAS values stored in gsDesign's tests (four equal looks, O'Brien-Fleming, 5e-4);
boundaries from mvtnorm's exact multivariate normal probabilities (reference/
sequential_boundaries.R, 1e-6); the crossing probabilities under the null; a Monte-Carlo run of
the type-I error; RIS and D2 against hand computations from the published formulas.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from service.stats.sequential import (
    NEVER,
    SequentialInputError,
    Spending,
    diversity,
    group_sequential_boundaries,
    required_information_size,
)
from service.stats.trial_sequential import sequential_looks

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "sequential_boundaries.json").read_text()
)
EQUAL_LOOKS = [0.25, 0.5, 0.75, 1.0]
SAS_OBRIEN_FLEMING = [4.33263, 2.96333, 2.35902, 2.01409]  # gsDesign tests, from SAS


def test_obrien_fleming_matches_sas_values_for_four_equal_looks() -> None:
    result = group_sequential_boundaries(EQUAL_LOOKS, alpha=0.05, sides=2)
    assert np.allclose(result.boundaries, SAS_OBRIEN_FLEMING, rtol=0, atol=5e-4)


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: str(c["information_fractions"]))
def test_boundaries_match_exact_multivariate_normal_roots(case: dict[str, object]) -> None:
    result = group_sequential_boundaries(
        case["information_fractions"],  # type: ignore[arg-type]
        alpha=float(case["alpha"]),  # type: ignore[arg-type]
        sides=int(case["sides"]),  # type: ignore[call-overload]
        spending=Spending(case["spending"]),
    )
    # Where a look spends less than 1e-9, R's probabilities (absolute error ~1e-12) cannot pin
    # the root to 1e-6; there the service's z is the exact normal quantile of the spend.
    tolerance = [1e-6 if p > 1e-9 else 1e-4 for p in result.nominal_p]
    assert np.all(np.abs(np.subtract(result.boundaries, case["boundaries"])) < tolerance)


@pytest.mark.parametrize("spending", list(Spending))
@pytest.mark.parametrize("sides", [1, 2])
def test_crossing_probabilities_under_the_null_sum_to_the_alpha_per_tail(
    spending: Spending, sides: int
) -> None:
    result = group_sequential_boundaries(
        [0.15, 0.4, 0.55, 0.8, 1.0], sides=sides, spending=spending
    )
    tail = 0.025 if sides == 2 else 0.05
    assert abs(sum(result.crossing_probability) - tail) < 1e-6
    assert np.allclose(np.cumsum(result.crossing_probability), result.cumulative_alpha, atol=1e-6)


def test_the_multivariate_normal_cdf_agrees_that_the_design_spends_alpha() -> None:
    """An independent check of the recursion: P(|Z_k| < b_k for all k) = 1 - alpha."""
    looks = np.array([0.2, 0.45, 0.7, 1.0])
    result = group_sequential_boundaries(looks, alpha=0.05, sides=2)
    cov = np.sqrt(np.minimum.outer(looks, looks) / np.maximum.outer(looks, looks))
    bounds = np.array(result.boundaries)
    inside = stats.multivariate_normal(mean=np.zeros(4), cov=cov).cdf(
        bounds, lower_limit=-bounds, rng=np.random.default_rng(1)
    )
    assert abs((1 - inside) - 0.05) < 1e-4


def test_monte_carlo_type_one_error_of_repeated_looks() -> None:
    """200,000 null paths seen at four looks: the rejection rate is 0.05 (naive 1.96: ~0.126)."""
    rng = np.random.default_rng(20261201)
    looks = np.array(EQUAL_LOOKS)
    increments = rng.standard_normal((200_000, 4)) * np.sqrt(np.diff(looks, prepend=0.0))
    z = np.cumsum(increments, axis=1) / np.sqrt(looks)
    bounds = np.array(group_sequential_boundaries(looks).boundaries)
    rejected = np.mean(np.any(np.abs(z) >= bounds, axis=1))
    naive = np.mean(np.any(np.abs(z) >= 1.959964, axis=1))
    se = math.sqrt(0.05 * 0.95 / 200_000)
    assert abs(rejected - 0.05) < 4 * se
    assert naive > 0.1


def test_a_single_look_at_full_information_is_the_fixed_design() -> None:
    result = group_sequential_boundaries([1.0], alpha=0.05, sides=2)
    assert result.boundaries[0] == pytest.approx(1.959963985, abs=1e-8)
    assert result.nominal_p[0] == pytest.approx(0.05, abs=1e-10)


def test_looks_beyond_full_information_spend_nothing_more() -> None:
    result = group_sequential_boundaries([0.5, 1.0, 1.2], alpha=0.05)
    assert result.boundaries[2] == NEVER
    assert result.cumulative_alpha[2] == pytest.approx(0.025)


@pytest.mark.parametrize(
    ("fractions", "alpha", "sides"),
    [([], 0.05, 2), ([0.5, 0.5], 0.05, 2), ([0.0, 1.0], 0.05, 2), ([1.0], 0.7, 2), ([1], 0.05, 3)],
)
def test_designs_that_do_not_exist_are_refused(
    fractions: list[float], alpha: float, sides: int
) -> None:
    with pytest.raises(SequentialInputError):
        group_sequential_boundaries(fractions, alpha=alpha, sides=sides)


def test_required_information_size_by_hand() -> None:
    # 4 (1.959964 + 1.281552)^2 / 0.2^2 = 1,050.74 participants (alpha 0.05, power 0.9).
    z = 1.959963985 + 1.281551566
    assert required_information_size(0.2, power=0.9) == pytest.approx(4 * z * z / 0.04, rel=1e-9)
    assert required_information_size(0.2, power=0.9) == pytest.approx(1050.74, abs=0.01)
    # power 0.8: 784.9 in all, i.e. the 393 per arm of the GRADE optimal information size.
    assert math.ceil(required_information_size(0.2, power=0.8) / 2) == 393
    inflated = required_information_size(0.2, power=0.9, diversity=0.4)
    assert inflated == pytest.approx(4 * z * z / 0.04 / 0.6, rel=1e-9)


def test_diversity_by_hand() -> None:
    yi, vi = [0.1, 0.5, 0.3, -0.2], [0.02, 0.04, 0.03, 0.05]
    w = 1 / np.array(vi)
    fixed = np.sum(w * yi) / np.sum(w)
    q = np.sum(w * (np.array(yi) - fixed) ** 2)
    tau2 = (q - 3) / (np.sum(w) - np.sum(w**2) / np.sum(w))
    v_random = 1 / np.sum(1 / (np.array(vi) + tau2))
    result = diversity(yi, vi)
    assert result.tau2_dl == pytest.approx(tau2, rel=1e-12)
    assert result.d2 == pytest.approx(1 - (1 / np.sum(w)) / v_random, rel=1e-12)
    assert 0 < result.d2 < 1
    assert diversity([0.2, 0.2, 0.2], [0.01, 0.02, 0.03]).d2 == 0.0


def test_looks_adding_under_one_percent_of_the_ris_are_skipped() -> None:
    looks = sequential_looks([100, 105, 300, 600], [1.0, 1.0, 2.0, 2.5], ris=1000)
    assert looks.kept == (0, 2, 3)
    assert looks.fractions == pytest.approx((0.1, 0.3, 0.6))
    expected = group_sequential_boundaries([0.1, 0.3, 0.6]).boundaries
    assert looks.boundaries == pytest.approx(expected)
    assert looks.status == "continue"


def test_the_newest_analysis_is_always_a_look_even_after_an_exclusion() -> None:
    looks = sequential_looks([100, 300, 295], [1.0, 5.0, 1.0], ris=1000)
    assert looks.kept == (0, 2)
    assert (looks.crossed, looks.status) == ((False, False), "continue")


def test_status_crossed_or_information_reached() -> None:
    assert sequential_looks([100, 300], [1.0, 5.0], ris=1000).status == "boundary_crossed"
    reached = sequential_looks([400, 1200, 1500], [1.0, 1.5, 1.2], ris=1000)
    assert reached.status == "ris_reached"
    # Beyond the RIS no alpha is left: the final boundary stands, and no more looks are taken
    # but the newest.
    assert reached.boundaries[2] == reached.boundaries[1] < NEVER
    many = sequential_looks(list(range(100, 5000, 20)), [1.0] * 245, ris=1000)
    assert len(many.kept) < 50
