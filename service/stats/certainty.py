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
  of one trial powered for the MID (GRADE guidelines 6, Guyatt et al. 2011; Schuenemann et al.
  2022, GRADE guidance 34);
- publication bias: Egger's test at p < 0.10 from ten studies on (Cochrane Handbook 13.3.5.4;
  GRADE guidelines 5);
- indirectness: a person's judgement only.

Every function returns a :class:`DomainRating` with the rule, a rationale naming the numbers
and the inputs, so that a reader can check the downgrade by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy import stats

LEVELS = ("very_low", "low", "moderate", "high")
JUDGEMENTS = ("not_serious", "serious", "very_serious")
NOT_ASSESSED = "not_assessed"
SMALL_OIS_PER_ARM = 63  # a trial powered for SMD 0.5 (alpha 0.05, power 0.8): 63 per arm

InputValue = float | int | str | bool | None

RISK_OF_BIAS_RULE = (
    "share of the random-effects weight from studies at low risk of bias: >= 75% no downgrade, "
    "50-75% one, < 50% two (Pollock et al. 2016; metaumbrella)"
)
INCONSISTENCY_RULE = (
    "thresholds -MID and +MID crossed by the CI and the 95% prediction interval (CINeMA): CI none "
    "and PI one: one; CI none and PI both: two; CI one and PI both: one; otherwise none. "
    "Without a PI: I2 >= 50% with studies significant in opposite directions: one "
    "(Nikolakopoulou et al. 2020; GRADE guidelines 7)"
)
IMPRECISION_RULE = (
    "CI crosses both -MID and +MID: two; one of them: one; and the optimal information size "
    "(one trial powered for the MID at alpha 0.05, power 0.8): fewer participants: at least one, "
    f"fewer than {SMALL_OIS_PER_ARM} per arm: two (GRADE guidelines 6; GRADE guidance 34)"
)
PUBLICATION_BIAS_RULE = (
    "k >= 10 and Egger's test p < 0.10: one; fewer than 10 studies: not assessed "
    "(Cochrane Handbook 13.3.5.4; GRADE guidelines 5)"
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


def risk_of_bias(weights: Sequence[float], low_risk: Sequence[bool]) -> DomainRating:
    """The share of the (random-effects) weight carried by studies at low risk of bias."""
    total = float(sum(weights))
    share = 100.0 * sum(w for w, low in zip(weights, low_risk, strict=True) if low) / total
    downgrade = 0 if share >= 75.0 else 1 if share >= 50.0 else 2
    rationale = (
        f"{share:.1f}% of the weight comes from {sum(low_risk)} of {len(weights)} studies "
        "at low risk of bias"
    )
    return _rating(downgrade, RISK_OF_BIAS_RULE, rationale, low_risk_weight_percent=share)


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
) -> DomainRating:
    """CINeMA's rule on the CI and PI against -MID and +MID, else I2 and opposite effects."""
    bands = "; ".join(i2_bands(i2)) or "not estimable"
    i2_text = f"I2 = {i2:.0f}% ({bands})" if i2 is not None else "I2 not estimable"
    thresholds = (-mid, mid)
    ci_crosses = crossings(ci.lower, ci.upper, thresholds)
    if pi is None:
        return _without_prediction(ci_crosses, mid, i2, i2_text, study_intervals)
    pi_crosses = crossings(pi.lower, pi.upper, thresholds)
    table = {(0, 1): 1, (0, 2): 2, (1, 2): 1}
    downgrade = table.get((ci_crosses, pi_crosses), 0)
    rationale = (
        f"the CI crosses {ci_crosses} and the prediction interval {pi_crosses} of the "
        f"thresholds -{mid:g} and +{mid:g}; {i2_text}"
    )
    return _rating(
        downgrade, INCONSISTENCY_RULE, rationale, ci_crossings=ci_crosses,
        pi_crossings=pi_crosses, mid=mid, i2=i2, i2_bands=bands,
    )  # fmt: skip


def _without_prediction(
    ci_crosses: int, mid: float, i2: float | None, i2_text: str, studies: Sequence[Interval]
) -> DomainRating:
    benefit = any(s.lower > 0.0 for s in studies)
    harm = any(s.upper < 0.0 for s in studies)
    downgrade = int(i2 is not None and i2 >= 50.0 and benefit and harm)
    opposite = "" if benefit and harm else "no "
    opposite += "studies significant in opposite directions"
    rationale = f"no prediction interval; {i2_text}; {opposite}"
    return _rating(
        downgrade, INCONSISTENCY_RULE, rationale, ci_crossings=ci_crosses, pi_crossings=None,
        mid=mid, i2=i2, i2_bands="", opposite_significant=benefit and harm,
    )  # fmt: skip


def optimal_information_size(mid: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Participants per arm of a two-arm trial powered to detect the SMD ``mid``.

    ``n = 2 (z_{1-alpha/2} + z_{power})^2 / mid^2`` per arm, rounded up (393 for SMD 0.2).
    """
    z = float(stats.norm.isf(alpha / 2.0) + stats.norm.ppf(power))
    return math.ceil(2.0 * z * z / (mid * mid))


def imprecision(ci: Interval, mid: float, *, participants: int) -> DomainRating:
    """The CI against -MID and +MID, and the participants against the optimal information size."""
    ci_crosses = crossings(ci.lower, ci.upper, (-mid, mid))
    ois = optimal_information_size(mid)
    per_arm = participants / 2.0
    by_size = 2 if per_arm < SMALL_OIS_PER_ARM else 1 if per_arm < ois else 0
    downgrade = max(ci_crosses, by_size)
    rationale = (
        f"the CI ({ci.lower:.2f} to {ci.upper:.2f}) crosses {ci_crosses} of -{mid:g} and "
        f"+{mid:g}; {participants:,} participants ({per_arm:,.0f} per arm) against an optimal "
        f"information size of {ois:,} per arm"
    )
    return _rating(
        downgrade, IMPRECISION_RULE, rationale, ci_crossings=ci_crosses, mid=mid,
        participants=participants, optimal_information_size_per_arm=ois,
    )  # fmt: skip


def publication_bias(k: int, egger_p: float | None) -> DomainRating:
    """Egger's test from ten studies on; below ten, not assessed (and no downgrade)."""
    if k < 10 or egger_p is None:
        reason = f"only {k} studies" if k < 10 else "Egger's test not defined for these data"
        rationale = f"not assessed: {reason}; small-study tests need at least 10"
        return DomainRating(0, NOT_ASSESSED, PUBLICATION_BIAS_RULE, rationale, {"k": k})
    downgrade = int(egger_p < 0.10)
    rationale = f"Egger's test p = {egger_p:.3f} with {k} studies"
    return _rating(downgrade, PUBLICATION_BIAS_RULE, rationale, k=k, egger_p=egger_p)


def indirectness() -> DomainRating:
    """No rule: indirectness is for a person to judge (the population, intervention, outcome)."""
    return DomainRating(0, NOT_ASSESSED, INDIRECTNESS_RULE, "not assessed: no curator judgement")
