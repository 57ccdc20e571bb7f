"""The ``bayes`` answer of a pooled result: the exact posterior and P(effect > MID) (issue 29).

The study-level effects (one per study, as the headline pools them) are fitted by
:func:`service.stats.bayes.fit_bayes`, exactly as ``POST /v1/analyses`` with a ``bayes`` block
fits the same effects. Stored effects are harmonised (a positive g favours peer support, also
where lower is better, e.g. internalized stigma), so benefit is always ``mu > MID`` here; the
outcome's direction has been applied when the effect was derived. The MID is the request's
``mid`` or the outcome's (vocabulary); the judgement layer, which reads the vocabulary, passes it.
"""

from __future__ import annotations

from service.schemas.dependence import BayesRead
from service.schemas.pooled import PooledRead
from service.stats.bayes import (
    NAMED_TAU_PRIORS,
    EffectPrior,
    EffectPriorKind,
    TauPrior,
    TauPriorKind,
    fit_bayes,
)
from service.stats.errors import StatsInputError
from service.usecases.analyses.dependence import bayes_fit_read
from service.usecases.pooled.spec import BayesOptions, PooledSpec


def tau_prior_of(options: BayesOptions) -> TauPrior:
    """The tau prior a pooled request names."""
    named = NAMED_TAU_PRIORS.get(str(options.tau_prior))
    if named is not None:  # the same definitions as POST /v1/analyses' named kinds
        return named
    kind = TauPriorKind(str(options.tau_prior))
    return TauPrior(kind, scale=options.tau_scale)


def effect_prior_of(options: BayesOptions) -> EffectPrior:
    """Flat, or N(0, ``effect_sd``) (sceptical: centred on no effect)."""
    if options.effect_sd is None:
        return EffectPrior()
    return EffectPrior(EffectPriorKind.NORMAL, 0.0, options.effect_sd)


def bayes_answer(answer: PooledRead, spec: PooledSpec, *, mid: float | None) -> BayesRead | None:
    """The posterior of the pooled studies' effects; ``None`` unless asked for and pooled."""
    if spec.bayes is None or answer.status != "pooled" or not answer.studies:
        return None
    try:
        fit = fit_bayes(
            [s.yi for s in answer.studies],
            [s.vi for s in answer.studies],
            effect_prior=effect_prior_of(spec.bayes),
            tau_prior=tau_prior_of(spec.bayes),
            mid=mid,
            lower_is_better=False,  # harmonised effects: positive favours peer support
            level=spec.level,
        )
    except StatsInputError:
        return None  # e.g. a zero variance: the frequentist fit reports it
    return bayes_fit_read(fit)
