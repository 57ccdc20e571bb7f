"""effect_intervals: each study's Wald interval, as metafor's summary.escalc.

summary(escalc(measure = "GEN", yi = c(0.5, -0.2), vi = c(0.04, 0.09)))  # ci.lb, ci.ub
  0.1080072  0.8919928
 -0.7879892  0.3879892
"""

from __future__ import annotations

import numpy as np
import pytest

from service.stats.errors import StatsInputError
from service.stats.narrative import effect_intervals


def test_matches_metafor_summary_escalc() -> None:
    intervals = effect_intervals([0.5, -0.2], [0.04, 0.09])
    np.testing.assert_allclose(intervals.lower, [0.1080072, -0.7879892], atol=1e-7)
    np.testing.assert_allclose(intervals.upper, [0.8919928, 0.3879892], atol=1e-7)
    assert intervals.level == 0.95


def test_level_widens_the_interval() -> None:
    narrow = effect_intervals([0.5], [0.04], level=0.8)
    wide = effect_intervals([0.5], [0.04], level=0.99)
    assert wide.lower[0] < narrow.lower[0] < 0.5 < narrow.upper[0] < wide.upper[0]


@pytest.mark.parametrize(("vi", "level", "field"), [([0.0], 0.95, "vi"), ([0.1], 1.0, "level")])
def test_invalid_input_names_the_field(vi: list[float], level: float, field: str) -> None:
    with pytest.raises(StatsInputError) as error:
        effect_intervals([0.1], vi, level=level)
    assert error.value.field == field
