"""The Bayesian block of a pooled R script (``bayes=true``), in base R: no bayesmeta needed.

The service's posterior (:mod:`service.stats.bayes`) is that of bayesmeta (Roever 2020, J Stat
Softw 93(6), sections 2.3-2.4); bayesmeta itself is not installable everywhere, so the script
recomputes the same model independently with base R's adaptive quadrature (``integrate``, QUADPACK
qagi) instead of the service's fixed Gauss-Legendre panels:

1. Given tau, mu is integrated out analytically (conjugate normal): with ``w_i = 1/(v_i + tau^2)``
   and the effect prior's precision ``p0`` (0 if flat), ``P = sum w_i + p0``,
   ``m = (sum w_i y_i + p0 mu0) / P`` and the marginal likelihood
   ``prod w_i^(1/2) P^(-1/2) exp(-(sum w_i (y_i - m)^2 + p0 (mu0 - m)^2) / 2)``.
2. tau's posterior is that times the tau prior. It is integrated over ``x = log tau`` (the
   density times the Jacobian ``tau``; smooth for every prior, also where a log-t prior's density
   of tau itself is unbounded at 0), ``integrate(-Inf, Inf)`` split at its mode so that the
   adaptive rule finds the peak.
3. mu's posterior CDF is ``int f(x) pnorm(q, m, P^(-1/2)) dx``; its mean is ``int f(x) m dx``;
   the median and the credible limits solve the CDF (``uniroot``).
4. ``P(effect > MID) = 1 - CDF(MID)`` (effects are harmonised: positive favours peer support).
"""

from __future__ import annotations

from service.schemas.pooled import PooledRead
from service.stats.bayes import EffectPrior, EffectPriorKind, TauPrior, TauPriorKind

_PRINTED = ("mean", "median", "ci_lower", "ci_upper")


def _tau_density(prior: TauPrior) -> list[str]:
    """R's ``log_prior(x)``: the log-density of ``x = log tau`` (tau's density times ``tau``)."""
    s = f"{prior.scale!r}"
    if prior.kind is TauPriorKind.HALF_NORMAL:
        return [f"log_prior <- function(x) log(2) + dnorm(exp(x), 0, {s}, log = TRUE) + x"]
    if prior.kind is TauPriorKind.HALF_CAUCHY:
        return [f"log_prior <- function(x) log(2) + dcauchy(exp(x), 0, {s}, log = TRUE) + x"]
    if prior.kind is TauPriorKind.INVERSE_GAMMA:
        a = f"{prior.shape!r}"
        return [f"log_prior <- function(x) {a} * log({s}) - lgamma({a}) - {a} * x - {s} / exp(x)"]
    if prior.kind is TauPriorKind.LOG_T:
        # log tau2 = 2 x ~ t_df(location, scale): the density of x is 2 / scale t_df(z)
        return [
            f"log_prior <- function(x) log(2 / {s}) + "
            f"dt((2 * x - ({prior.location!r})) / {s}, df = {prior.df!r}, log = TRUE)"
        ]
    raise ValueError(f"no R density for a {prior.kind} tau prior")


def _effect_prior(prior: EffectPrior) -> str:
    if prior.kind is EffectPriorKind.FLAT:
        return "p0 <- 0; mu0 <- 0  # flat (improper) prior on the effect"
    return f"p0 <- 1 / {prior.sd!r}^2; mu0 <- {prior.mean!r}  # normal prior on the effect"


def _describe(tau: TauPrior, effect: EffectPrior) -> str:
    taus = {
        TauPriorKind.HALF_NORMAL: f"tau ~ half-normal(scale {tau.scale})",
        TauPriorKind.HALF_CAUCHY: f"tau ~ half-Cauchy(scale {tau.scale})",
        TauPriorKind.INVERSE_GAMMA: f"tau ~ InvGamma(shape {tau.shape}, scale {tau.scale})",
        TauPriorKind.LOG_T: f"log tau^2 ~ t{tau.df:g}(location {tau.location}, scale {tau.scale})",
    }
    flat = effect.kind is EffectPriorKind.FLAT
    effects = "mu flat" if flat else f"mu ~ N({effect.mean}, {effect.sd}^2)"
    return f"Priors: {taus.get(tau.kind, str(tau.kind))}; {effects}"


def bayes_r_lines(answer: PooledRead, tau: TauPrior, effect: EffectPrior) -> list[str]:
    """R lines that recompute ``answer.bayes`` from the study-level effects in ``agg``."""
    if answer.bayes is None:
        return []
    tails = (1.0 - answer.spec.level) / 2.0
    mid = answer.bayes.mid
    lines = [
        "",
        "# Bayesian random effects (bayes=true): the exact posterior by numerical integration",
        "# over tau in base R, the model of bayesmeta (Roever 2020) without bayesmeta.",
        "# " + _describe(tau, effect),
        "yb <- agg$yi",
        "vb <- agg$vi",
        _effect_prior(effect),
        *_tau_density(tau),
        "conditional <- function(t) {  # mu given tau: precision P and mean m; log marginal lik.",
        "  w <- 1 / (vb + t^2)",
        "  P <- sum(w) + p0",
        "  m <- (sum(w * yb) + p0 * mu0) / P",
        "  ll <- 0.5 * sum(log(w)) - 0.5 * log(P) - 0.5 * (sum(w * (yb - m)^2) + p0 * (mu0 - m)^2)",
        "  c(P = P, m = m, ll = ll)",
        "}",
        "log_post <- function(x) log_prior(x) + conditional(exp(x))[['ll']]",
        "mode <- optimize(log_post, c(-30, 5), maximum = TRUE, tol = 1e-12)",
        "peak <- mode$objective",
        "unnorm <- function(x) {  # the posterior density of x up to a constant; 0 where",
        "  lp <- log_post(x)  # it underflows (or exp(x) overflows, far in the tails)",
        "  if (is.finite(lp)) exp(lp - peak) else 0",
        "}",
        "over_x <- function(g) {  # int f(x) g(x) dx, split at the posterior mode of x",
        "  h <- function(xs) sapply(xs, function(x) {",
        "    f <- unnorm(x)",
        "    if (f == 0) 0 else f * g(x)",
        "  })",
        "  integrate(h, -Inf, mode$maximum, rel.tol = 1e-11, abs.tol = 0,",
        "            subdivisions = 1000L)$value +",
        "    integrate(h, mode$maximum, Inf, rel.tol = 1e-11, abs.tol = 0,",
        "              subdivisions = 1000L)$value",
        "}",
        "norm_const <- over_x(function(x) 1)",
        "mu_cdf <- function(q) over_x(function(x) {",
        "  c <- conditional(exp(x))",
        "  pnorm(q, c[['m']], 1 / sqrt(c[['P']]))",
        "}) / norm_const",
        "mu_mean <- over_x(function(x) conditional(exp(x))[['m']]) / norm_const",
        "mu_quantile <- function(p) {",
        "  uniroot(function(x) mu_cdf(x) - p, c(min(yb) - 10, max(yb) + 10),",
        "          tol = 1e-13, maxiter = 1000L)$root",
        "}",
        "bayes <- c(",
        "  mean = mu_mean,",
        "  median = mu_quantile(0.5),",
        f"  ci_lower = mu_quantile({tails!r}),",
        f"  ci_upper = mu_quantile({1.0 - tails!r})",
        ")",
        "print(bayes)",
    ]
    lines += [f'cat(sprintf("bayes_mu_{name} = %.17g\\n", bayes[["{name}"]]))' for name in _PRINTED]
    lines.append('cat(sprintf("bayes_p_benefit = %.17g\\n", 1 - mu_cdf(0)))')
    if mid is not None:
        lines.append(f'cat(sprintf("bayes_p_benefit_gt_mid = %.17g\\n", 1 - mu_cdf({mid!r})))')
    return lines
