"""Certainty of evidence (GRADE) by explicit rules: one pure function per domain.

Randomized evidence starts at high certainty; each domain downgrades by 0, 1 or 2 levels
(Guyatt et al. 2011, GRADE guidelines 1-9). The GRADE handbook leaves the thresholds to
judgement; these are the operational rules the service applies, each with its source:

- risk of bias: the share of the random-effects weight from studies at low risk of bias,
  >= 75% none, 50-75% one, < 50% two (Pollock et al. 2016; the metaumbrella package);
- inconsistency: how many of the thresholds -MID and +MID the confidence and the prediction
  interval cross (CINeMA, Nikolakopoulou et al. 2020); without a prediction interval, I2 >= 50%
  with studies significant in opposite directions (GRADE guidelines 7, Guyatt et al. 2011);
- imprecision: the confidence interval against -MID and +MID, and the optimal information size
  of one trial powered for the MID at the outcome's alpha and power (GRADE guidelines 6, Guyatt
  et al. 2011; Schuenemann et al. 2022, GRADE guidance 34); no fixed per-arm cut-off;
- no double downgrading: the thresholds the CI crosses are counted under imprecision only, so
  inconsistency counts the spread beyond them (the PI's further crossings, CINeMA's table is
  exactly that), and without a PI the I2 rule does not add a level for a CI that already crossed
  a threshold (GRADE guidelines 6, section "imprecision and inconsistency": rate down once
  when the same wide interval reflects both; GRADE guidance 34);
- publication bias: Egger's test at p < 0.10 from ten studies on (Cochrane Handbook 13.3.5.4;
  GRADE guidelines 5), in metafor's default form (``regtest``, a z test on the random-effects
  meta-regression on the SE) or the classic weighted regression (Egger et al. 1997,
  ``regtest(model = "lm")``), named in the answer;
- indirectness: a person's judgement only.

Every function returns a :class:`DomainRating` with the rule, a rationale naming the numbers
and the inputs, so that a reader can check the downgrade by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.stats._lazy import scipy_stats

LEVELS = ("very_low", "low", "moderate", "high")
JUDGEMENTS = ("not_serious", "serious", "very_serious")
NOT_ASSESSED = "not_assessed"
OIS_ALPHA = 0.05  # GRADE guidelines 6: a conventional trial's alpha and power
OIS_POWER = 0.8
EGGER_VARIANTS = {
    "regtest": "metafor regtest() default: z test of the SE in a random-effects meta-regression",
    "classic": "Egger et al. 1997: weighted linear regression on the SE, t test with k - 2 df "
    '(metafor regtest(model = "lm"))',
}

InputValue = float | int | str | bool | None

RISK_OF_BIAS_RULE = (
    "share of the random-effects weight from studies at low risk of bias: >= 75% no downgrade, "
    "50-75% one, < 50% two (Pollock et al. 2016; metaumbrella)"
)
INCONSISTENCY_RULE = (
    "thresholds -MID and +MID crossed by the CI and the 95% prediction interval (CINeMA): CI none "
    "and PI one: one; CI none and PI both: two; CI one and PI both: one; otherwise none. "
    "Without a PI: I2 >= 50% with studies significant in opposite directions: one "
    "(Nikolakopoulou et al. 2020; GRADE guidelines 7); the CI's own crossings are counted "
    "under imprecision only, and without a PI the I2 rule adds nothing to a CI that crosses a "
    "threshold (no double downgrading: GRADE guidelines 6; GRADE guidance 34)"
)
IMPRECISION_RULE = (
    "CI crosses both -MID and +MID: two; one of them: one; otherwise fewer participants than "
    "the optimal information size (one two-arm trial powered for the MID at the outcome's alpha "
    "and power, Guyatt et al. 2011): one (GRADE guidelines 6; GRADE guidance 34)"
)
PUBLICATION_BIAS_RULE = (
    "k >= 10 and Egger's test p < 0.10: one; fewer than 10 studies: not assessed "
    "(Cochrane Handbook 13.3.5.4; GRADE guidelines 5); the Egger variant is named"
)
INDIRECTNESS_RULE = "a curator's judgement only; none recorded means not assessed, no downgrade"


@dataclass(frozen=True, slots=True)
class DomainRating:
    """One GRADE domain: ``downgrade`` 0, 1 or 2 levels, with the rule and its inputs."""

    downgrade: int
    judgement: str
    rule: str
    rationale: str
    inputs: dict[str, InputValue] = field(default_factory=dict)


def judgement_of(downgrade: int) -> str:
    """GRADE's words for 0, 1 and 2 levels: not serious, serious, very serious."""
    return JUDGEMENTS[downgrade]


def certainty_level(downgrades: Sequence[int], *, start: str = "high") -> str:
    """The starting level minus the downgrades, floored at very low (GRADE guidelines 3)."""
    return LEVELS[max(0, LEVELS.index(start) - sum(downgrades))]


def _rating(downgrade: int, rule: str, rationale: str, **inputs: InputValue) -> DomainRating:
    return DomainRating(downgrade, judgement_of(downgrade), rule, rationale, dict(inputs))


def crossings(lower: float, upper: float, thresholds: Sequence[float]) -> int:
    """How many thresholds lie strictly inside ``(lower, upper)``."""
    return sum(lower < t < upper for t in thresholds)


@dataclass(frozen=True, slots=True)
class LowRiskSensitivity:
    """The random-effects estimate of the studies at low risk of bias only (or ``k = 0``)."""

    k: int
    estimate: float | None = None
    ci: Interval | None = None


def risk_of_bias(
    weights: Sequence[float],
    low_risk: Sequence[bool],
    *,
    assessed: int | None = None,
    sensitivity: LowRiskSensitivity | None = None,
) -> DomainRating:
    """The share of the (random-effects) weight carried by studies at low risk of bias.

    ``assessed`` is how many studies have a RoB 2 (or RoB 1) overall judgement; the others are
    judged by their quality rating. ``sensitivity`` is the answer restricted to low-risk studies.
    """
    total = float(sum(weights))
    share = 100.0 * sum(w for w, low in zip(weights, low_risk, strict=True) if low) / total
    downgrade = 0 if share >= 75.0 else 1 if share >= 50.0 else 2
    rationale = (
        f"{share:.1f}% of the weight comes from {sum(low_risk)} of {len(weights)} studies "
        "at low risk of bias"
    )
    inputs: dict[str, InputValue] = {"low_risk_weight_percent": share}
    if assessed is not None:
        rationale += f" ({assessed} judged by RoB 2/RoB 1, the others by quality rating)"
        inputs["assessed_with_rob"] = assessed
    if sensitivity is not None:
        rationale += "; " + _sensitivity_text(sensitivity)
        inputs.update(_sensitivity_inputs(sensitivity))
    return _rating(downgrade, RISK_OF_BIAS_RULE, rationale, **inputs)


def _sensitivity_text(sensitivity: LowRiskSensitivity) -> str:
    if sensitivity.estimate is None or sensitivity.ci is None:
        return "no study at low risk of bias, so no sensitivity analysis restricted to them"
    ci = sensitivity.ci
    return (
        f"restricted to the {sensitivity.k} at low risk: {sensitivity.estimate:.2f} "
        f"({ci.lower:.2f} to {ci.upper:.2f})"
    )


def _sensitivity_inputs(sensitivity: LowRiskSensitivity) -> dict[str, InputValue]:
    ci = sensitivity.ci
    return {
        "low_risk_k": sensitivity.k,
        "low_risk_estimate": sensitivity.estimate,
        "low_risk_ci_lower": ci.lower if ci else None,
        "low_risk_ci_upper": ci.upper if ci else None,
    }


def i2_bands(i2: float | None) -> list[str]:
    """The Cochrane Handbook's overlapping I2 bands (section 10.10.2) that contain ``i2``."""
    if i2 is None:
        return []
    bands = (
        (0.0, 40.0, "might not be important"),
        (30.0, 60.0, "may represent moderate heterogeneity"),
        (50.0, 90.0, "may represent substantial heterogeneity"),
        (75.0, 100.0, "considerable heterogeneity"),
    )
    return [name for low, high, name in bands if low <= i2 <= high]


@dataclass(frozen=True, slots=True)
class Interval:
    """A closed interval (a CI or a prediction interval)."""

    lower: float
    upper: float


def inconsistency(
    ci: Interval,
    pi: Interval | None,
    mid: float,
    *,
    i2: float | None,
    study_intervals: Sequence[Interval],
    pi_distribution: str | None = None,
) -> DomainRating:
    """CINeMA's rule on the CI and PI against -MID and +MID, else I2 and opposite effects.

    ``pi_distribution`` names the prediction interval's reference distribution (stated in the
    rationale): metafor 3.8's ``predict.rma`` uses the model's (normal under z, t with k - 1 df
    under Knapp-Hartung); the Cochrane Handbook (10.10.4.3, after Higgins et al. 2009) t with
    k - 2 df.
    """
    bands = "; ".join(i2_bands(i2)) or "not estimable"
    i2_text = f"I2 = {i2:.0f}% ({bands})" if i2 is not None else "I2 not estimable"
    thresholds = (-mid, mid)
    ci_crosses = crossings(ci.lower, ci.upper, thresholds)
    if pi is None:
        return _without_prediction(ci_crosses, mid, i2, i2_text, study_intervals)
    pi_crosses = crossings(pi.lower, pi.upper, thresholds)
    table = {(0, 1): 1, (0, 2): 2, (1, 2): 1}
    downgrade = table.get((ci_crosses, pi_crosses), 0)
    distribution = f" ({pi_distribution})" if pi_distribution else ""
    rationale = (
        f"the CI crosses {ci_crosses} and the prediction interval{distribution} {pi_crosses} of "
        f"the thresholds -{mid:g} and +{mid:g}; {i2_text}"
    )
    if ci_crosses:
        rationale += (
            f"; the CI's {ci_crosses} crossing(s) are already counted under imprecision, so only "
            "the prediction interval's further crossings count here"
        )
    return _rating(
        downgrade, INCONSISTENCY_RULE, rationale, ci_crossings=ci_crosses,
        pi_crossings=pi_crosses, mid=mid, i2=i2, i2_bands=bands, pi_distribution=pi_distribution,
        counted_under_imprecision=ci_crosses,
    )  # fmt: skip


def _without_prediction(
    ci_crosses: int, mid: float, i2: float | None, i2_text: str, studies: Sequence[Interval]
) -> DomainRating:
    benefit = any(s.lower > 0.0 for s in studies)
    harm = any(s.upper < 0.0 for s in studies)
    spread = i2 is not None and i2 >= 50.0 and benefit and harm
    downgrade = int(spread and ci_crosses == 0)
    opposite = "" if benefit and harm else "no "
    opposite += "studies significant in opposite directions"
    rationale = f"no prediction interval; {i2_text}; {opposite}"
    if spread and ci_crosses:
        rationale += (
            f"; the same spread already widened the CI across {ci_crosses} threshold(s), "
            "counted under imprecision: not downgraded twice"
        )
    return _rating(
        downgrade, INCONSISTENCY_RULE, rationale, ci_crossings=ci_crosses, pi_crossings=None,
        mid=mid, i2=i2, i2_bands="", opposite_significant=benefit and harm,
        counted_under_imprecision=ci_crosses if spread else 0,
    )  # fmt: skip


def optimal_information_size(mid: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Participants per arm of a two-arm trial powered to detect the SMD ``mid``.

    ``n = 2 (z_{1-alpha/2} + z_{power})^2 / mid^2`` per arm, rounded up (393 for SMD 0.2).
    """
    z = float(scipy_stats().norm.isf(alpha / 2.0) + scipy_stats().norm.ppf(power))
    return math.ceil(2.0 * z * z / (mid * mid))


def imprecision(
    ci: Interval,
    mid: float,
    *,
    participants: int,
    alpha: float = OIS_ALPHA,
    power: float = OIS_POWER,
) -> DomainRating:
    """The CI against -MID and +MID; when it crosses neither, the optimal information size.

    The OIS is that of one two-arm trial powered (``power``, two-sided ``alpha``) to detect the
    outcome's MID as an SMD (GRADE guidelines 6). A CI clear of both thresholds with fewer
    participants than the OIS is downgraded one level; there is no fixed per-arm cut-off.
    """
    ci_crosses = crossings(ci.lower, ci.upper, (-mid, mid))
    ois = optimal_information_size(mid, alpha=alpha, power=power)
    per_arm = participants / 2.0
    by_size = int(per_arm < ois)
    downgrade = max(ci_crosses, by_size)
    rationale = (
        f"the CI ({ci.lower:.2f} to {ci.upper:.2f}) crosses {ci_crosses} of -{mid:g} and "
        f"+{mid:g}; {participants:,} participants ({per_arm:,.0f} per arm) against an optimal "
        f"information size of {ois:,} per arm (MID {mid:g}, alpha {alpha:g}, power {power:g})"
    )
    return _rating(
        downgrade, IMPRECISION_RULE, rationale, ci_crossings=ci_crosses, mid=mid,
        participants=participants, optimal_information_size_per_arm=ois, alpha=alpha,
        power=power,
    )  # fmt: skip


def publication_bias(k: int, egger_p: float | None, *, egger: str = "regtest") -> DomainRating:
    """Egger's test (variant ``egger``, see :data:`EGGER_VARIANTS`) from ten studies on."""
    variant = EGGER_VARIANTS[egger]
    if k < 10 or egger_p is None:
        reason = f"only {k} studies" if k < 10 else "Egger's test not defined for these data"
        rationale = f"not assessed: {reason}; small-study tests need at least 10"
        inputs: dict[str, InputValue] = {"k": k, "egger": egger}
        return DomainRating(0, NOT_ASSESSED, PUBLICATION_BIAS_RULE, rationale, inputs)
    downgrade = int(egger_p < 0.10)
    rationale = f"Egger's test ({egger}: {variant}) p = {egger_p:.3f} with {k} studies"
    return _rating(downgrade, PUBLICATION_BIAS_RULE, rationale, k=k, egger_p=egger_p, egger=egger)


def indirectness() -> DomainRating:
    """No rule: indirectness is for a person to judge (the population, intervention, outcome)."""
    return DomainRating(0, NOT_ASSESSED, INDIRECTNESS_RULE, "not assessed: no curator judgement")
