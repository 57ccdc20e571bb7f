"""The GRADE informative statements (Santesso et al. 2020), every wording cell by cell."""

from __future__ import annotations

import pytest

from service.usecases.judgement.statements import (
    DirectionCounts,
    OutcomeWords,
    PooledNumbers,
    magnitude,
    narrative_statement,
    pooled_statement,
    sentence,
)

SELF_EFFICACY = OutcomeWords("self-efficacy", benefit_is_increase=True)
STIGMA = OutcomeWords("internalized stigma", benefit_is_increase=False)
VERY_UNCERTAIN = "The evidence is very uncertain about the effect of peer support on {o}."

# (level, g) -> sentence for self-efficacy (a benefit is an increase) and for stigma.
TABLE = {
    ("high", 0.9): ("Peer support results in a large increase in self-efficacy.",
                    "Peer support results in a large reduction in internalized stigma."),
    ("high", 0.6): ("Peer support increases self-efficacy.",
                    "Peer support reduces internalized stigma."),
    ("high", 0.3): ("Peer support increases self-efficacy slightly.",
                    "Peer support reduces internalized stigma slightly."),
    ("high", 0.1): ("Peer support results in little to no difference in self-efficacy.",
                    "Peer support results in little to no difference in internalized stigma."),
    ("moderate", 0.9): ("Peer support probably results in a large increase in self-efficacy.",
                        "Peer support probably results in a large reduction in "
                        "internalized stigma."),
    ("moderate", 0.6): ("Peer support probably increases self-efficacy.",
                        "Peer support probably reduces internalized stigma."),
    ("moderate", 0.3): ("Peer support probably increases self-efficacy slightly.",
                        "Peer support probably reduces internalized stigma slightly."),
    ("moderate", 0.1): ("Peer support probably results in little to no difference in "
                        "self-efficacy.",
                        "Peer support probably results in little to no difference in "
                        "internalized stigma."),
    ("low", 0.9): ("Peer support may result in a large increase in self-efficacy.",
                   "Peer support may result in a large reduction in internalized stigma."),
    ("low", 0.6): ("Peer support may increase self-efficacy.",
                   "Peer support may reduce internalized stigma."),
    ("low", 0.3): ("Peer support may increase self-efficacy slightly.",
                   "Peer support may reduce internalized stigma slightly."),
    ("low", 0.1): ("Peer support may result in little to no difference in self-efficacy.",
                   "Peer support may result in little to no difference in internalized stigma."),
    **{
        ("very_low", g): (VERY_UNCERTAIN.format(o="self-efficacy"),
                          VERY_UNCERTAIN.format(o="internalized stigma"))
        for g in (0.9, 0.6, 0.3, 0.1)
    },
}  # fmt: skip


@pytest.mark.parametrize(("cell", "expected"), TABLE.items(), ids=lambda x: str(x))
def test_every_wording(cell: tuple[str, float], expected: tuple[str, str]) -> None:
    level, g = cell
    assert sentence(level, g, SELF_EFFICACY) == expected[0]
    assert sentence(level, g, STIGMA) == expected[1]


@pytest.mark.parametrize(
    ("level", "g", "expected"),
    [
        ("moderate", -0.3, "Peer support probably reduces self-efficacy slightly."),
        ("low", -0.6, "Peer support may increase internalized stigma."),
        ("high", -0.9, "Peer support results in a large reduction in self-efficacy."),
        ("low", -0.1, "Peer support may result in little to no difference in self-efficacy."),
    ],
)
def test_harm_is_worded_in_the_direction_of_the_scale(level: str, g: float, expected: str) -> None:
    outcome = STIGMA if "stigma" in expected else SELF_EFFICACY
    assert sentence(level, g, outcome) == expected


@pytest.mark.parametrize(
    ("g", "size"),
    [(0.0, "trivial"), (0.199, "trivial"), (0.2, "small"), (-0.49, "small"), (0.5, "moderate"),
     (0.79, "moderate"), (0.8, "large"), (-2.0, "large")],
)  # fmt: skip
def test_magnitude_bands(g: float, size: str) -> None:
    assert magnitude(g) == size


def test_numbers_are_appended() -> None:
    numbers = PooledNumbers(0.24, 0.08, 0.40, 0.95, 7, 1120, "low")
    statement = pooled_statement(numbers, SELF_EFFICACY)
    assert statement.text == (
        "Peer support may increase self-efficacy slightly (g = 0.24, 95% CI 0.08 to 0.40; "
        "7 trials, 1,120 participants; low certainty)."
    )
    assert statement.plain_language.startswith("Peer support may increase self-efficacy slightly.")
    assert "may be substantially different" in statement.plain_language


def test_very_low_numbers_spell_the_level() -> None:
    numbers = PooledNumbers(-0.05, -0.6, 0.5, 0.9, 4, 200, "very_low")
    assert pooled_statement(numbers, STIGMA).text == (
        "The evidence is very uncertain about the effect of peer support on internalized stigma "
        "(g = -0.05, 90% CI -0.60 to 0.50; 4 trials, 200 participants; very low certainty)."
    )


def test_narrative_statement_gives_the_direction_counts() -> None:
    counts = DirectionCounts(k=3, favours_intervention=2, favours_control=1, no_difference=0,
                             sign_test_p_value=1.0)  # fmt: skip
    statement = narrative_statement(counts, 3, 4, SELF_EFFICACY)
    assert statement.text == (
        "Too few randomized trials exist to pool the effect of peer support on self-efficacy "
        "(3; the review pools from 4). Of 3 studies, 2 point to a benefit of peer support, 1 to "
        "the comparator and 0 show no difference (sign test p = 1.00)."
    )
    assert "2 of 3 studies point towards a benefit." in statement.plain_language


# Cell by cell: (favouring, of which clear; against, of which clear) -> the words of each side.
# "Clear": the study's own confidence interval excludes no effect (issue 26: "2 favour peer
# support" was said when both intervals included 0).
NARRATIVE_CELLS = [
    ((2, 0, 1, 0), "2 point to a benefit of peer support (but every confidence interval "
     "includes no effect), 1 to the comparator (but its confidence interval includes no effect)",
     "2 of 3 studies point towards a benefit, but in none does the confidence interval "
     "exclude no effect."),
    ((2, 2, 1, 0), "2 point to a benefit of peer support (every confidence interval excluding "
     "no effect), 1 to the comparator (but its confidence interval includes no effect)",
     "2 of 3 studies point towards a benefit, 2 with a confidence interval that excludes no "
     "effect."),
    ((2, 1, 1, 1), "2 point to a benefit of peer support (1 with a confidence interval "
     "excluding no effect, 1 with one including it), 1 to the comparator (its confidence "
     "interval excluding no effect)",
     "2 of 3 studies point towards a benefit, 1 with a confidence interval that excludes no "
     "effect."),
    ((0, 0, 3, 2), "0 point to a benefit of peer support, 3 to the comparator (2 with a "
     "confidence interval excluding no effect, 1 with one including it)",
     "0 of 3 studies point towards a benefit."),
    ((1, 1, 2, 0), "1 point to a benefit of peer support (its confidence interval excluding "
     "no effect), 2 to the comparator (but every confidence interval includes no effect)",
     "1 of 3 studies point towards a benefit, 1 with a confidence interval that excludes no "
     "effect."),
]  # fmt: skip


@pytest.mark.parametrize(("cell", "text", "plain"), NARRATIVE_CELLS)
def test_narrative_counts_say_whether_the_intervals_exclude_no_effect(
    cell: tuple[int, int, int, int], text: str, plain: str
) -> None:
    favours, clear_benefit, against, clear_harm = cell
    counts = DirectionCounts(
        k=favours + against, favours_intervention=favours, favours_control=against,
        no_difference=0, sign_test_p_value=0.5, clear_benefit=clear_benefit,
        clear_harm=clear_harm,
    )  # fmt: skip
    statement = narrative_statement(counts, 3, 4, SELF_EFFICACY)
    assert f"Of 3 studies, {text} and 0 show no difference (sign test p = 0.50)." in (
        statement.text
    )
    assert plain in statement.plain_language


def test_narrative_statement_without_studies() -> None:
    statement = narrative_statement(None, 0, 4, STIGMA)
    assert "no eligible study has reported it yet" in statement.text
