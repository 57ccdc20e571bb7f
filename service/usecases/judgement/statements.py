"""One sentence per answer: the GRADE informative statements, with the numbers appended.

Santesso N, Glenton C, Dahm P, et al. (2020). GRADE guidelines 26: informative statements to
communicate the findings of systematic reviews of interventions. J Clin Epidemiol 119:126-135.
The certainty level chooses the verb ("increases", "probably increases", "may increase", "the
evidence is very uncertain") and the size of the effect its qualifier, from |g| with Cohen's
bands as the issue fixes them: < 0.2 trivial ("little to no difference"), < 0.5 small
("slightly"), < 0.8 moderate (no qualifier), otherwise large ("a large increase").

The direction is harmonised: a positive g always favours peer support, which for an outcome
where lower is better (internalized stigma) is a reduction. ``plain_language`` adds what the
level means (Balshem et al. 2011, GRADE guidelines 3, Table 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.schemas.certainty import StatementRead

INTERVENTION = "peer support"
TRIVIAL, SMALL, MODERATE, LARGE = "trivial", "small", "moderate", "large"
MAGNITUDES = (TRIVIAL, SMALL, MODERATE, LARGE)

# (level, magnitude) -> template; {s}: third person verb ("increases"), {v}: infinitive
# ("increase"), {n}: noun ("increase"); {i}: the intervention, {o}: the outcome.
WORDING: dict[tuple[str, str], str] = {
    ("high", LARGE): "{I} results in a large {n} in {o}",
    ("high", MODERATE): "{I} {s} {o}",
    ("high", SMALL): "{I} {s} {o} slightly",
    ("high", TRIVIAL): "{I} results in little to no difference in {o}",
    ("moderate", LARGE): "{I} probably results in a large {n} in {o}",
    ("moderate", MODERATE): "{I} probably {s} {o}",
    ("moderate", SMALL): "{I} probably {s} {o} slightly",
    ("moderate", TRIVIAL): "{I} probably results in little to no difference in {o}",
    ("low", LARGE): "{I} may result in a large {n} in {o}",
    ("low", MODERATE): "{I} may {v} {o}",
    ("low", SMALL): "{I} may {v} {o} slightly",
    ("low", TRIVIAL): "{I} may result in little to no difference in {o}",
    **{
        ("very_low", size): "The evidence is very uncertain about the effect of {i} on {o}"
        for size in MAGNITUDES
    },
}
MEANING = {
    "high": "We are very confident that the true effect lies close to this estimate.",
    "moderate": "We are moderately confident: the true effect is likely to be close to this "
    "estimate, but it may be substantially different.",
    "low": "Our confidence is limited: the true effect may be substantially different from "
    "this estimate.",
    "very_low": "We have very little confidence: the true effect is likely to be substantially "
    "different from this estimate.",
}
_VERBS = {  # (benefit is an increase, effect favours peer support) -> (s, v, n)
    (True, True): ("increases", "increase", "increase"),
    (True, False): ("reduces", "reduce", "reduction"),
    (False, True): ("reduces", "reduce", "reduction"),
    (False, False): ("increases", "increase", "increase"),
}


@dataclass(frozen=True, slots=True)
class OutcomeWords:
    """How to name an outcome, and whether a benefit is an increase (or a reduction)."""

    name: str
    benefit_is_increase: bool


def magnitude(g: float) -> str:
    """Trivial, small, moderate or large, from |g| (< 0.2, < 0.5, < 0.8, otherwise)."""
    size = abs(g)
    return TRIVIAL if size < 0.2 else SMALL if size < 0.5 else MODERATE if size < 0.8 else LARGE


def sentence(
    level: str, g: float, outcome: OutcomeWords, *, intervention: str = INTERVENTION
) -> str:
    """The informative statement for certainty ``level`` and effect ``g`` (no numbers)."""
    s, v, n = _VERBS[(outcome.benefit_is_increase, g >= 0)]
    words = {"s": s, "v": v, "n": n, "o": outcome.name, "i": intervention}
    text = WORDING[(level, magnitude(g))].format(
        I=intervention[:1].upper() + intervention[1:], **words
    )
    return text + "."


def _number(x: float) -> str:
    return f"{x:.2f}"


@dataclass(frozen=True, slots=True)
class PooledNumbers:
    """What the statement appends: the estimate, its interval, trials, participants, level."""

    estimate: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    trials: int
    participants: int
    certainty: str


def numbers_text(numbers: PooledNumbers) -> str:
    """``g = 0.24, 95% CI 0.08 to 0.40; 7 trials, 1,120 participants; low certainty``."""
    trials = "trial" if numbers.trials == 1 else "trials"
    return (
        f"g = {_number(numbers.estimate)}, {numbers.ci_level * 100:g}% CI "
        f"{_number(numbers.ci_lower)} to {_number(numbers.ci_upper)}; {numbers.trials} {trials}, "
        f"{numbers.participants:,} participants; {numbers.certainty.replace('_', ' ')} certainty"
    )


def pooled_statement(
    numbers: PooledNumbers, outcome: OutcomeWords, *, intervention: str = INTERVENTION
) -> StatementRead:
    """The statement of a pooled answer: the sentence, then its numbers in parentheses."""
    words = sentence(numbers.certainty, numbers.estimate, outcome, intervention=intervention)
    return StatementRead(
        text=f"{words[:-1]} ({numbers_text(numbers)}).",
        plain_language=f"{words} {MEANING[numbers.certainty]}",
    )


@dataclass(frozen=True, slots=True)
class DirectionCounts:
    """The narrative synthesis' vote count."""

    k: int
    favours_intervention: int
    favours_control: int
    no_difference: int
    sign_test_p_value: float
    clear_benefit: int | None = None  # favouring peer support, own CI excludes no effect
    clear_harm: int | None = None  # favouring the comparator, own CI excludes no effect


def _count(n: int, noun: str = "study") -> str:
    return f"{n} {noun if n == 1 else 'studies'}"


def _split(total: int, clear: int | None) -> str:
    """How many of ``total`` studies pointing one way have an interval that excludes 0."""
    if clear is None or total == 0:
        return ""
    if clear == total:
        inside = "its" if total == 1 else "every"
        return f" ({inside} confidence interval excluding no effect)"
    if clear == 0:
        inside = "its" if total == 1 else "every"
        return f" (but {inside} confidence interval includes no effect)"
    return (
        f" ({clear} with a confidence interval excluding no effect, {total - clear} with one "
        "including it)"
    )


def _benefit_words(counts: DirectionCounts) -> str:
    """The plain-language count: points towards a benefit, and how many clearly."""
    lead = f"{counts.favours_intervention} of {_count(counts.k)} point towards a benefit"
    if counts.clear_benefit is None or counts.favours_intervention == 0:
        return lead
    if counts.clear_benefit == 0:
        return f"{lead}, but in none does the confidence interval exclude no effect"
    return f"{lead}, {counts.clear_benefit} with a confidence interval that excludes no effect"


def narrative_statement(
    counts: DirectionCounts | None, k_randomized: int, min_k: int, outcome: OutcomeWords
) -> StatementRead:
    """Too few randomized trials to pool; what the direction counts show (never a size)."""
    lead = (
        f"Too few randomized trials exist to pool the effect of {INTERVENTION} on "
        f"{outcome.name} ({k_randomized}; the review pools from {min_k})"
    )
    if counts is None or counts.k == 0:
        return StatementRead(
            text=f"{lead}, and no eligible study has reported it yet.",
            plain_language=f"We do not yet know whether {INTERVENTION} changes {outcome.name}: "
            "no eligible study has measured it.",
        )
    text = (
        f"{lead}. Of {_count(counts.k)}, {counts.favours_intervention} point to a benefit of "
        f"{INTERVENTION}{_split(counts.favours_intervention, counts.clear_benefit)}, "
        f"{counts.favours_control} to the comparator"
        f"{_split(counts.favours_control, counts.clear_harm)} and {counts.no_difference} show "
        f"no difference (sign test p = {counts.sign_test_p_value:.2f})."
    )
    plain = (
        f"There are not yet enough trials to say how much {INTERVENTION} changes "
        f"{outcome.name}; {_benefit_words(counts)}. Counting directions shows whether there "
        "may be an effect, not how large."
    )
    return StatementRead(text=text, plain_language=plain)
