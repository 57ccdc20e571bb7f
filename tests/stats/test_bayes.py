"""fit_bayes against an independent computation of the same posterior.

bayesmeta is not installed here, so every number is checked against a second, independent
implementation in this file: the marginal likelihood of tau as the multivariate normal density of
y (``y ~ N(mu_0 1, diag(v + tau^2) + s^2 J)``, scipy.stats), integrated over tau itself (not log
tau) by adaptive QUADPACK (scipy.integrate.quad) instead of the service's fixed Gauss-Legendre
panels. Agreement to 1e-6. The conjugate case (tau fixed) is checked against closed forms.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from service.stats.bayes import (
    EffectPrior,
    EffectPriorKind,
    TauPrior,
    TauPriorKind,
    fit_bayes,
)
from service.stats.errors import StatsInputError

RNG = np.random.default_rng(2026)
Y = RNG.normal(0.35, 0.25, 9)
V = RNG.uniform(0.02, 0.12, 9)

PRIORS = {
    "half_normal_0.5": TauPrior(TauPriorKind.HALF_NORMAL, scale=0.5),
    "half_cauchy_0.3": TauPrior(TauPriorKind.HALF_CAUCHY, scale=0.3),
    "inverse_gamma_1.71_0.40": TauPrior(TauPriorKind.INVERSE_GAMMA, scale=0.40, shape=1.71),
    "log_t_rhodes": TauPrior(TauPriorKind.LOG_T, scale=1.93, location=-3.85, df=5.0),
}


def _tau_density(prior: TauPrior) -> Callable[[float], float]:
    """Densities of tau written out from their textbook definitions (scipy.stats)."""
    if prior.kind is TauPriorKind.HALF_NORMAL:
        return lambda t: float(stats.halfnorm.pdf(t, scale=prior.scale))
    if prior.kind is TauPriorKind.HALF_CAUCHY:
        return lambda t: float(stats.halfcauchy.pdf(t, scale=prior.scale))
    if prior.kind is TauPriorKind.INVERSE_GAMMA:
        return lambda t: float(stats.invgamma.pdf(t, prior.shape, scale=prior.scale))
    # log tau^2 ~ t: p(tau) = f_t(log tau^2) * d(log tau^2)/d tau = f_t(.) * 2 / tau
    dist = stats.t(prior.df, loc=prior.location, scale=prior.scale)
    return lambda t: float(dist.pdf(2.0 * math.log(t)) * 2.0 / t) if t > 0 else 0.0


def normal_cdf(x: float, mean: float, sd: float) -> float:
    # scipy.special.ndtr is what scipy.stats.norm.cdf evaluates, without its per-call overhead
    return float(special.ndtr((x - mean) / sd))


class Reference:
    """The posterior by QUADPACK over tau with multivariate normal marginal likelihoods."""

    def __init__(self, y: np.ndarray, v: np.ndarray, effect: EffectPrior, prior: TauPrior) -> None:
        self.y, self.v, self.effect = y, v, effect
        self.prior = _tau_density(prior)
        self.shift = 0.0
        self.shift = max(self.log_lik(t) for t in np.geomspace(1e-4, 5.0, 200))
        self.z = self.integral(lambda t: 1.0)

    def log_lik(self, tau: float) -> float:
        k = self.y.size
        if self.effect.kind is EffectPriorKind.NORMAL:
            cov = np.diag(self.v + tau**2) + self.effect.sd**2 * np.ones((k, k))
            return float(
                stats.multivariate_normal.logpdf(self.y, self.effect.mean * np.ones(k), cov)
            )
        # Flat prior: the restricted likelihood, N(y; mu, D) integrated over mu.
        w = 1.0 / (self.v + tau**2)
        mu = float(w @ self.y / w.sum())
        return float(
            stats.norm.logpdf(self.y, mu, np.sqrt(1.0 / w)).sum()
            + 0.5 * math.log(2 * math.pi / w.sum())
        )

    def conditional(self, tau: float) -> tuple[float, float]:
        w = 1.0 / (self.v + tau**2)
        precision = w.sum() + (
            self.effect.sd**-2 if self.effect.kind is EffectPriorKind.NORMAL else 0.0
        )
        extra = (
            self.effect.mean * self.effect.sd**-2
            if self.effect.kind is EffectPriorKind.NORMAL
            else 0.0
        )
        return float((w @ self.y + extra) / precision), float(1.0 / precision)

    @cache  # noqa: B019 (one Reference per test): QUADPACK asks for the same nodes again
    def weight(self, tau: float) -> float:
        """The unnormalised posterior density of tau: prior times marginal likelihood."""
        return self.prior(tau) * math.exp(self.log_lik(tau) - self.shift)

    def integral(self, f: Callable[[float], float], upper: float = math.inf) -> float:
        def g(t: float) -> float:
            return f(t) * self.weight(t)

        # Below tau = 0.05 in u = log tau (the log-t prior has an integrable spike at tau = 0),
        # QUADPACK's transformation of an infinite range; above it in tau itself.
        def h(u: float) -> float:
            return g(math.exp(u)) * math.exp(u)

        total = integrate.quad(
            h, -math.inf, math.log(min(upper, 0.05)), epsabs=1e-14, epsrel=1e-10, limit=500
        )[0]
        cuts = [min(c, upper) for c in (0.05, 1.0)] + [upper]
        return total + sum(
            integrate.quad(g, a, b, epsabs=1e-14, epsrel=1e-10, limit=500)[0]
            for a, b in itertools.pairwise(cuts)
            if b > a
        )

    def expect(self, f: Callable[[float], float]) -> float:
        return self.integral(f) / self.z

    def tau_quantile(self, p: float) -> float:
        return float(
            optimize.brentq(
                lambda u: self.integral(lambda t: 1.0, u) / self.z - p, 1e-8, 20.0, xtol=1e-13
            )
        )

    def mu_cdf(self, x: float) -> float:
        return self.expect(lambda t: normal_cdf(x, *self._ms(t)))

    def _ms(self, t: float) -> tuple[float, float]:
        m, var = self.conditional(t)
        return m, math.sqrt(var)


@pytest.mark.parametrize("name", list(PRIORS))
@pytest.mark.parametrize(
    "effect",
    [EffectPrior(), EffectPrior(EffectPriorKind.NORMAL, 0.0, 1.0)],
    ids=["flat", "normal01"],
)
def test_posterior_matches_an_independent_quadrature(name: str, effect: EffectPrior) -> None:
    prior = PRIORS[name]
    fit = fit_bayes(Y, V, effect_prior=effect, tau_prior=prior, mid=0.2)
    ref = Reference(Y, V, effect, prior)
    mu_mean = ref.expect(lambda t: ref.conditional(t)[0])
    assert fit.mu.mean == pytest.approx(mu_mean, rel=1e-6)
    assert fit.tau.mean == pytest.approx(ref.expect(lambda t: t), rel=1e-6)
    assert fit.tau.median == pytest.approx(ref.tau_quantile(0.5), rel=1e-6)
    assert fit.tau.ci_upper == pytest.approx(ref.tau_quantile(0.975), rel=1e-6)
    assert ref.mu_cdf(fit.mu.median) == pytest.approx(0.5, abs=1e-7)
    assert ref.mu_cdf(fit.mu.ci_lower) == pytest.approx(0.025, abs=1e-7)
    assert 1.0 - ref.mu_cdf(0.2) == pytest.approx(fit.p_benefit_gt_mid, rel=1e-6)
    pred_cdf = ref.expect(
        lambda t: normal_cdf(fit.predictive.ci_upper, ref._ms(t)[0], math.hypot(ref._ms(t)[1], t))
    )
    assert pred_cdf == pytest.approx(0.975, abs=1e-7)


def test_fixed_tau_is_the_conjugate_normal_posterior() -> None:
    """tau known: mu | y ~ N((sum w y + m/s^2) / P, 1/P), P = sum w + 1/s^2, w = 1/(v + tau^2)."""
    tau, m, s = 0.15, 0.1, 0.5
    fit = fit_bayes(
        Y,
        V,
        effect_prior=EffectPrior(EffectPriorKind.NORMAL, m, s),
        tau_prior=TauPrior(TauPriorKind.FIXED, scale=tau),
        mid=0.3,
        lower_is_better=False,
    )
    w = 1.0 / (V + tau**2)
    precision = w.sum() + 1.0 / s**2
    mean = (w @ Y + m / s**2) / precision
    sd = math.sqrt(1.0 / precision)
    assert fit.mu.mean == pytest.approx(mean, rel=1e-12)
    assert fit.mu.median == pytest.approx(mean, rel=1e-10)
    assert fit.mu.ci_lower == pytest.approx(mean - 1.959963984540054 * sd, rel=1e-10)
    assert fit.p_benefit_gt_mid == pytest.approx(stats.norm.sf(0.3, mean, sd), rel=1e-10)
    pred_sd = math.sqrt(sd**2 + tau**2)
    assert fit.predictive.ci_upper == pytest.approx(mean + 1.959963984540054 * pred_sd, rel=1e-10)


def test_tiny_half_normal_scale_approaches_the_common_effect_posterior() -> None:
    fit = fit_bayes(Y, V, tau_prior=TauPrior(TauPriorKind.HALF_NORMAL, scale=1e-7))
    w = 1.0 / V
    assert fit.mu.mean == pytest.approx(w @ Y / w.sum(), rel=1e-6)
    assert fit.mu_sd == pytest.approx(math.sqrt(1.0 / w.sum()), rel=1e-6)


def test_lower_is_better_counts_benefit_below_minus_mid() -> None:
    flipped = fit_bayes(-Y, V, mid=0.2, lower_is_better=True)
    plain = fit_bayes(Y, V, mid=0.2)
    assert flipped.p_benefit_gt_mid == pytest.approx(plain.p_benefit_gt_mid, rel=1e-9)
    assert flipped.p_benefit == pytest.approx(plain.p_benefit, rel=1e-9)


def test_one_study_with_a_flat_effect_prior_has_the_prior_for_tau() -> None:
    """k = 1, flat mu: the likelihood does not depend on tau, so tau's posterior is its prior."""
    fit = fit_bayes([0.3], [0.04], tau_prior=TauPrior(TauPriorKind.HALF_NORMAL, scale=0.5))
    assert fit.tau.median == pytest.approx(stats.halfnorm.ppf(0.5, scale=0.5), rel=1e-6)
    assert fit.tau.mean == pytest.approx(0.5 * math.sqrt(2 / math.pi), rel=1e-6)


def test_invalid_priors_raise() -> None:
    with pytest.raises(StatsInputError):
        fit_bayes(Y, V, tau_prior=TauPrior(TauPriorKind.HALF_NORMAL, scale=0.0))
    with pytest.raises(StatsInputError):
        fit_bayes(Y, V, effect_prior=EffectPrior(EffectPriorKind.NORMAL, 0.0, -1.0))
    with pytest.raises(StatsInputError):
        fit_bayes(Y, V, mid=-0.1)
