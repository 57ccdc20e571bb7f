"""The intercept-only projection gives the general projection's numbers (to 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest

from service.stats._intercept import InterceptProjection, is_intercept
from service.stats._wls import Projection

RELATIVE = 1e-12


@pytest.mark.parametrize("k", [2, 5, 20, 300, 5000])
def test_every_form_and_trace_equals_the_general_projection(k: int) -> None:
    rng = np.random.default_rng(k)
    y = rng.normal(0.3, 0.4, k)
    v = rng.uniform(0.01, 0.3, k)
    d, e = rng.uniform(0.01, 0.3, k), rng.uniform(0.01, 0.3, k)
    w = 1.0 / (v + 0.05)
    ones = np.ones((k, 1))
    general, fast = Projection.build(ones, w), InterceptProjection.build(w)
    pairs = [
        (general.quad(y), fast.quad(y)),
        (general.quad2(y), fast.quad2(y)),
        (general.trace, fast.trace),
        (general.trace_d(v), fast.trace_d(v)),
        (general.trace_pdpe(), fast.trace_pdpe()),
        (general.trace_pdpe(d), fast.trace_pdpe(d)),
        (general.trace_pdpe(None, e), fast.trace_pdpe(None, e)),
        (general.trace_pdpe(d, e), fast.trace_pdpe(d, e)),
        (general.log_det, fast.log_det),
    ]
    for expected, got in pairs:
        assert got == pytest.approx(expected, rel=RELATIVE, abs=1e-300)
    np.testing.assert_allclose(fast.residuals(y), general.residuals(y), rtol=RELATIVE, atol=1e-15)
    np.testing.assert_allclose(fast.leverage, general.leverage, rtol=RELATIVE)


def test_only_a_column_of_ones_is_the_intercept_design() -> None:
    assert is_intercept(np.ones((4, 1)))
    assert not is_intercept(np.array([[1.0], [2.0], [1.0]]))
    assert not is_intercept(np.ones((4, 2)))


@pytest.mark.parametrize("estimator", ["DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM"])
def test_fits_are_unchanged_by_the_intercept_path(
    estimator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.stats import estimators
    from service.stats.models import fit_random_effects

    fields = ("estimate", "se", "tau2", "se_tau2", "ci_lower", "pi_upper", "i2", "p_value")
    for k in (3, 20, 400):
        rng = np.random.default_rng(100 + k)
        y, v = rng.normal(0.3, 0.3, k), rng.uniform(0.01, 0.2, k)
        fast = fit_random_effects(y, v, estimator=estimators.Tau2Estimator(estimator))
        with monkeypatch.context() as patched:
            patched.setattr(estimators, "is_intercept", lambda X: False)
            general = fit_random_effects(y, v, estimator=estimators.Tau2Estimator(estimator))
        for name in fields:
            expected, got = getattr(general, name), getattr(fast, name)
            # Near tau2 = 0, rounding differences of 1e-16 are relatively large: 1e-12 absolute.
            assert got == pytest.approx(expected, rel=RELATIVE, abs=1e-12), (k, name)
        assert fast.iterations == general.iterations
