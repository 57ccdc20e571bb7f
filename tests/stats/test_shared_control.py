"""Arms sharing a control in the three-level and CHE models, against metafor's vcalc.

Reference: ``Rscript tests/stats/reference/shared_control.R > .../shared_control.json``::

    V <- vcalc(vi, cluster = study, obs = instrument, grp1 = arm, grp2 = control,
               w1 = n1, w2 = n2, rho = rho, data = dat)          # rho 0 and 0.6
    res <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = "REML")
    coef_test(res, vcov = "CR2", cluster = dat$study)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from service.stats._blocks import make_blocks
from service.stats.errors import StatsInputError
from service.stats.multilevel import fit_three_level
from service.stats.robust import fit_che
from service.stats.shared_groups import SharedGroups
from tests.stats.conftest import load_reference

REFERENCE: dict[str, Any] = load_reference("shared_control")
DATA = REFERENCE["data"]
GROUPS = SharedGroups(DATA["instrument"], DATA["arm"], DATA["control"], DATA["n1"], DATA["n2"])


def _case(rho: float) -> dict[str, Any]:
    return next(c for c in REFERENCE["cases"] if c["rho"] == rho)


def _dense(rho: float | None) -> np.ndarray:
    """The working covariance as one k x k matrix, from the blocks."""
    blocks = make_blocks(DATA["yi"], DATA["vi"], DATA["study"], rho=rho, groups=GROUPS)
    k = blocks.k
    dense = np.zeros((k, k))
    for group in blocks.groups:
        for index, sampling in zip(group.index, group.sampling, strict=True):
            dense[np.ix_(index, index)] = sampling
    return dense


@pytest.mark.parametrize("rho", [0.0, 0.6])
def test_the_working_covariance_is_vcalcs(rho: float) -> None:
    expected = np.array(_case(rho)["V"])
    np.testing.assert_allclose(_dense(rho), expected, rtol=1e-12, atol=1e-15)
    if rho == 0.0:  # no rho: uncorrelated across instruments, as vcalc's rho = 0
        np.testing.assert_allclose(_dense(None), expected, rtol=1e-12, atol=1e-15)


def test_two_arms_on_one_instrument_correlate_through_the_control_only() -> None:
    """r = (1/nC) / sqrt((1/nA + 1/nC)(1/nB + 1/nC)), whatever rho (one observation)."""
    v = _dense(0.6)
    i, j = 1, 3  # study s2, instrument x: arm a against arm b
    n_a, n_b, n_c = DATA["n1"][i], DATA["n1"][j], DATA["n2"][i]
    expected = (1 / n_c) / np.sqrt((1 / n_a + 1 / n_c) * (1 / n_b + 1 / n_c))
    assert v[i, j] / np.sqrt(v[i, i] * v[j, j]) == pytest.approx(expected, rel=1e-12)


def test_three_level_with_shared_controls_matches_rma_mv() -> None:
    expected = _case(0.0)
    fit = fit_three_level(DATA["yi"], DATA["vi"], DATA["study"], groups=GROUPS, profile=False)
    assert fit.estimate == pytest.approx(expected["estimate"], rel=1e-6)
    assert fit.se == pytest.approx(expected["se"], rel=1e-6)
    # metafor's nlminb stops about 1e-11 short of sigma2 = 0 at the boundary
    assert fit.sigma2 == pytest.approx(expected["sigma2"], rel=1e-6, abs=1e-9)


def test_che_with_shared_controls_matches_club_sandwich() -> None:
    expected = _case(0.6)
    che = fit_che(DATA["yi"], DATA["vi"], DATA["study"], rho=0.6, groups=GROUPS, profile=False)
    assert che.model.estimate == pytest.approx(expected["estimate"], rel=1e-6)
    assert che.model.se == pytest.approx(expected["se"], rel=1e-6)
    assert che.model.sigma2 == pytest.approx(expected["sigma2"], rel=1e-6, abs=1e-9)
    assert che.robust.se == pytest.approx(expected["cr2_se"], rel=1e-6)
    assert che.robust.df == pytest.approx(expected["cr2_df"], rel=1e-6)


def test_vcalcs_defaults_give_plain_che() -> None:
    """vcalc's defaults (grp1 = 1, grp2 = 2, w1 = w2 = 1 for every effect, each its own obs):
    every pair within a study shares both groups, so r = rho, the plain CHE model."""
    k = len(DATA["yi"])
    defaults = SharedGroups([str(i) for i in range(k)], ["1"] * k, ["2"] * k, [1.0] * k, [1.0] * k)
    plain = fit_che(DATA["yi"], DATA["vi"], DATA["study"], rho=0.6, profile=False)
    grouped = fit_che(
        DATA["yi"], DATA["vi"], DATA["study"], rho=0.6, groups=defaults, profile=False
    )
    assert grouped.model.estimate == pytest.approx(plain.model.estimate, rel=1e-12)
    assert grouped.robust.se == pytest.approx(plain.robust.se, rel=1e-12)


def test_bad_groups_raise() -> None:
    k = len(DATA["yi"])
    same = SharedGroups(["x"] * k, ["g"] * k, ["g"] * k, [1.0] * k, [1.0] * k)
    with pytest.raises(StatsInputError):
        make_blocks(DATA["yi"], DATA["vi"], DATA["study"], rho=0.6, groups=same)
    short = SharedGroups(["x"], ["a"], ["c"], [1.0], [1.0])
    with pytest.raises(StatsInputError):
        make_blocks(DATA["yi"], DATA["vi"], DATA["study"], rho=0.6, groups=short)
