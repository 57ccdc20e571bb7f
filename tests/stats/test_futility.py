"""Non-binding futility (beta-spending) boundaries: properties, an independent integration, and
Monte-Carlo runs under the alternative and the null.

gsDesign (the reference the other boundaries match) is not packaged for this machine's R, so
the checks are: the beta spent under the alternative sums to beta (1e-6); the first-stop
probabilities equal those of scipy's multivariate normal CDF over the same regions (an
independent algorithm, Genz's, 1e-5); simulated paths stop for futility at rate beta and,
ignoring futility, reject at rate alpha (non-binding); the fixed design is its own limit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from service.stats.futility import drift_under_alternative, futility_boundaries
from service.stats.sequential import (
    SequentialInputError,
    Spending,
    group_sequential_boundaries,
    spending_function,
)

DESIGNS = [[0.25, 0.5, 0.75, 1.0], [0.1, 0.3, 0.65, 0.9, 1.0], [0.2, 0.45, 0.7, 1.0], [0.5, 1.0]]


def _design(looks: list[float], beta: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    efficacy = group_sequential_boundaries(looks, alpha=0.05, sides=2).boundaries
    futility = futility_boundaries(looks, efficacy, alpha=0.05, beta=beta).boundaries
    return np.array(efficacy), np.array(futility)


@pytest.mark.parametrize("beta", [0.1, 0.2])
@pytest.mark.parametrize("looks", DESIGNS, ids=str)
def test_the_beta_spent_under_the_alternative_is_beta(looks: list[float], beta: float) -> None:
    efficacy = group_sequential_boundaries(looks, alpha=0.05, sides=2).boundaries
    result = futility_boundaries(looks, efficacy, alpha=0.05, beta=beta)
    assert abs(sum(result.crossing_probability) - beta) < 1e-6
    spend = spending_function(Spending.OBRIEN_FLEMING, beta)
    expected = [spend(t) for t in looks]
    assert np.allclose(np.cumsum(result.crossing_probability), expected, atol=1e-6)
    assert np.allclose(result.cumulative_beta, expected, atol=1e-12)
    assert all(0.0 <= lo <= up for lo, up in zip(result.boundaries, efficacy, strict=True))


def test_the_drift_is_the_z_of_the_fixed_design_at_full_information() -> None:
    assert drift_under_alternative(0.05, 0.1) == pytest.approx(1.959964 + 1.281552, abs=1e-6)


def _inside(cov: np.ndarray, mean: np.ndarray, lower: list[float], upper: list[float]) -> float:
    distribution = stats.multivariate_normal(mean=mean, cov=cov)
    rng = np.random.default_rng(7)
    return float(distribution.cdf(np.array(upper), lower_limit=np.array(lower), rng=rng))


def test_first_stop_probabilities_match_the_multivariate_normal_cdf() -> None:
    """Look 2's futility stop, P(l1 <= |Z1| < u1, |Z2| < l2), by Genz's algorithm instead."""
    looks = [0.3, 0.6, 1.0]
    efficacy, futility = _design(looks)
    result = futility_boundaries(looks, efficacy, alpha=0.05, beta=0.1)
    t = np.array(looks[:2])
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mean = drift_under_alternative(0.05, 0.1) * np.sqrt(t)
    (u1, _), (l1, l2) = efficacy[:2], futility[:2]
    upper_arm = _inside(cov, mean, [l1, -l2], [u1, l2])
    lower_arm = _inside(cov, mean, [-u1, -l2], [-l1, l2])
    assert abs(result.crossing_probability[1] - (upper_arm + lower_arm)) < 1e-5
    first = stats.norm.cdf(l1 - mean[0]) - stats.norm.cdf(-l1 - mean[0])
    assert result.crossing_probability[0] == pytest.approx(first, abs=1e-12)


def _paths(looks: list[float], drift: float, n: int, seed: int) -> np.ndarray:
    t = np.array(looks)
    rng = np.random.default_rng(seed)
    steps = np.diff(t, prepend=0.0)
    score = np.cumsum(rng.standard_normal((n, len(looks))) * np.sqrt(steps) + drift * steps, 1)
    result: np.ndarray = score / np.sqrt(t)
    return result


def _first(hits: np.ndarray) -> np.ndarray:
    """The first look (column) where ``hits`` holds, ``len`` when never."""
    first: np.ndarray = np.where(hits.any(axis=1), hits.argmax(axis=1), hits.shape[1])
    return first


def test_monte_carlo_futility_stops_at_rate_beta_under_the_alternative() -> None:
    looks, n = [0.25, 0.5, 0.75, 1.0], 200_000
    efficacy, futility = _design(looks)
    z = _paths(looks, drift_under_alternative(0.05, 0.1), n, seed=20261201)
    stop_efficacy = _first(np.abs(z) >= efficacy)
    stop_futility = _first(np.abs(z) < futility)
    rate = np.mean(stop_futility < stop_efficacy)
    assert abs(rate - 0.1) < 4 * math.sqrt(0.1 * 0.9 / n)


def test_monte_carlo_non_binding_type_one_error() -> None:
    """Under the null the efficacy boundaries alone reject at alpha; obeying futility less."""
    looks, n = [0.25, 0.5, 0.75, 1.0], 200_000
    efficacy, futility = _design(looks)
    z = _paths(looks, 0.0, n, seed=20261202)
    stop_efficacy = _first(np.abs(z) >= efficacy)
    ignoring = np.mean(stop_efficacy < len(looks))
    obeying = np.mean(stop_efficacy < _first(np.abs(z) < futility))
    assert abs(ignoring - 0.05) < 4 * math.sqrt(0.05 * 0.95 / n)
    assert obeying < ignoring


def test_a_single_look_at_full_information_is_the_fixed_design() -> None:
    """Accept H0 exactly when not rejecting: the wedge fills the continuation region."""
    result = futility_boundaries([1.0], [1.959964], alpha=0.05, beta=0.1)
    assert result.boundaries == (1.959964,)
    assert result.crossing_probability[0] == pytest.approx(0.1, abs=1e-6)


def test_looks_beyond_full_information_spend_no_beta() -> None:
    looks = [0.5, 1.0, 1.4]
    efficacy = group_sequential_boundaries(looks).boundaries
    result = futility_boundaries(looks, efficacy)
    assert result.boundaries[-1] == 0.0
    assert result.crossing_probability[-1] == 0.0


@pytest.mark.parametrize(
    ("looks", "efficacy", "beta"),
    [([0.5, 1.0], [2.0], 0.1), ([0.5, 1.0], [3.0, 2.0], 0.6), ([1.0, 0.5], [2.0, 3.0], 0.1)],
)
def test_designs_that_do_not_exist_are_refused(
    looks: list[float], efficacy: list[float], beta: float
) -> None:
    with pytest.raises(SequentialInputError):
        futility_boundaries(looks, efficacy, beta=beta)
