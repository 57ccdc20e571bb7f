"""Prior distributions of the Bayesian random-effects model (see :mod:`.bayes`).

Each tau prior gives the log-density of ``x = log tau`` (the density of tau times the Jacobian
``tau``), the variable the posterior is integrated over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import special

from service.stats._inputs import FloatArray
from service.stats.errors import StatsInputError


class EffectPriorKind(StrEnum):
    """The prior of the overall effect mu: flat (improper, uniform) or normal(mean, sd)."""

    FLAT = "flat"
    NORMAL = "normal"


class TauPriorKind(StrEnum):
    """Priors of the between-study standard deviation tau."""

    HALF_NORMAL = "half_normal"  # tau ~ |N(0, scale^2)|; Roever 2020 (bayesmeta), default scale 0.5
    HALF_CAUCHY = "half_cauchy"  # tau ~ |Cauchy(0, scale)|; Gelman 2006
    # tau ~ InvGamma(shape, scale); the Cochrane SMD prior of Bartos et al. 2021 is (1.51, 0.23)
    # (BayesTools prior_informed("Cochrane", "heterogeneity", "smd"); README "Priors")
    INVERSE_GAMMA = "inverse_gamma"
    # log tau2 ~ t_df(location, scale); Rhodes et al. 2015 Table 3 (mental health,
    # non-pharmacological: -3.85, 1.93, as bayesmeta RhodesEtAlPrior transcribes it)
    LOG_T = "log_t"
    FIXED = "fixed"  # tau known (= scale): the conjugate normal model


@dataclass(frozen=True, slots=True)
class EffectPrior:
    """``normal`` needs a positive ``sd``; ``flat`` ignores ``mean`` and ``sd``."""

    kind: EffectPriorKind = EffectPriorKind.FLAT
    mean: float = 0.0
    sd: float = 1.0

    def precision(self) -> float:
        """``1 / sd^2`` for a normal prior, 0 for the flat one."""
        if self.kind is EffectPriorKind.FLAT:
            return 0.0
        if not (math.isfinite(self.sd) and self.sd > 0.0 and math.isfinite(self.mean)):
            raise StatsInputError(
                "a normal effect prior needs a finite mean and sd > 0", field="sd"
            )
        return 1.0 / self.sd**2


@dataclass(frozen=True, slots=True)
class TauPrior:
    """A tau prior; which fields matter depends on ``kind`` (see :class:`TauPriorKind`).

    ``scale`` is the half-normal/half-Cauchy scale, the inverse-gamma scale, the log-t scale or the
    fixed tau; ``shape`` the inverse-gamma shape; ``location`` and ``df`` the log-t's.
    """

    kind: TauPriorKind = TauPriorKind.HALF_NORMAL
    scale: float = 0.5
    shape: float = 1.0
    location: float = 0.0
    df: float = 5.0

    def check(self) -> None:
        """Raise :class:`StatsInputError` for parameters outside their ranges."""
        if self.kind is TauPriorKind.FIXED:
            if not (math.isfinite(self.scale) and self.scale >= 0.0):
                raise StatsInputError("a fixed tau must be finite and >= 0", field="scale")
            return
        for name in ("scale", "shape", "df"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise StatsInputError(f"the tau prior's {name} must be positive", field=name)
        if not math.isfinite(self.location):
            raise StatsInputError("the tau prior's location must be finite", field="location")

    def log_density_x(self, x: FloatArray) -> FloatArray:
        """Log-density of ``x = log tau`` (normalised) at ``x``."""
        tau = np.exp(x)
        s = self.scale
        if self.kind is TauPriorKind.HALF_NORMAL:
            out = math.log(2.0 / (s * math.sqrt(2.0 * math.pi))) - 0.5 * (tau / s) ** 2 + x
        elif self.kind is TauPriorKind.HALF_CAUCHY:
            out = math.log(2.0 / (math.pi * s)) - np.log1p((tau / s) ** 2) + x
        elif self.kind is TauPriorKind.INVERSE_GAMMA:
            a = self.shape
            out = a * math.log(s) - special.gammaln(a) - a * x - s / tau
        elif self.kind is TauPriorKind.LOG_T:
            z = (2.0 * x - self.location) / s
            nu = self.df
            log_t = (
                special.gammaln((nu + 1) / 2)
                - special.gammaln(nu / 2)
                - 0.5 * math.log(nu * math.pi)
                - (nu + 1) / 2 * np.log1p(z**2 / nu)
            )
            out = math.log(2.0 / s) + log_t
        else:
            raise StatsInputError("a fixed tau has no density", field="kind")
        result: FloatArray = np.asarray(out, dtype=np.float64)
        return result


# The named tau priors, one definition for every endpoint (README, "Priors: what was checked").
# tau ~ InvGamma(shape 1.51, scale 0.23): the Cochrane-wide empirical prior for SMDs of Bartos et
# al. 2021 (Stat Med, doi:10.1002/sim.9170), as BayesTools' prior_informed("Cochrane",
# parameter = "heterogeneity", type = "smd") codes it.
COCHRANE_SMD = TauPrior(TauPriorKind.INVERSE_GAMMA, scale=0.23, shape=1.51)
# log tau2 ~ t5(location -3.85, scale 1.93): Rhodes et al. 2015 (J Clin Epidemiol 68:52-60),
# Table 3, mental health outcome, non-pharmacological comparison (bayesmeta's RhodesEtAlPrior).
RHODES_MENTAL_HEALTH = TauPrior(TauPriorKind.LOG_T, scale=1.93, location=-3.85, df=5.0)
NAMED_TAU_PRIORS = {"cochrane_smd": COCHRANE_SMD, "rhodes_mental_health": RHODES_MENTAL_HEALTH}
