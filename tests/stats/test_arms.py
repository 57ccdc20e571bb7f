"""Combining the arms of a multi-arm trial (Cochrane Handbook Table 6.5.a), against hand sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

from service.stats.arms import Group, combine_groups, combine_two
from service.stats.errors import StatsInputError


def test_two_arms_against_a_hand_computation() -> None:
    # N = 20 + 30 = 50; mean = (20 * 10 + 30 * 12) / 50 = 560 / 50 = 11.2;
    # SD^2 = (19 * 4 + 29 * 9 + 600 / 50 * (100 + 144 - 240)) / 49 = (76 + 261 + 48) / 49
    #      = 385 / 49.
    combined = combine_two(Group(20, 10.0, 2.0), Group(30, 12.0, 3.0))
    assert combined.n == 50
    assert combined.mean == pytest.approx(11.2, rel=1e-15)
    assert combined.sd == pytest.approx(math.sqrt(385 / 49), rel=1e-15)


def test_it_is_the_sd_of_the_pooled_raw_data() -> None:
    rng = np.random.default_rng(6510)
    samples = [rng.normal(m, s, n) for m, s, n in ((3.0, 1.0, 12), (4.5, 2.0, 17), (2.0, 0.5, 9))]
    groups = [Group(x.size, float(x.mean()), float(x.std(ddof=1))) for x in samples]
    pooled = np.concatenate(samples)
    combined = combine_groups(groups)
    assert combined.n == pooled.size
    assert combined.mean == pytest.approx(float(pooled.mean()), rel=1e-12)
    assert combined.sd == pytest.approx(float(pooled.std(ddof=1)), rel=1e-12)
    reordered = combine_groups(groups[::-1])
    assert reordered.sd == pytest.approx(combined.sd, rel=1e-12)


def test_bad_groups_are_refused() -> None:
    with pytest.raises(StatsInputError):
        combine_two(Group(0, 1.0, 1.0), Group(5, 1.0, 1.0))
    with pytest.raises(StatsInputError):
        combine_two(Group(5, 1.0, -1.0), Group(5, 1.0, 1.0))
    with pytest.raises(StatsInputError):
        combine_groups([])
