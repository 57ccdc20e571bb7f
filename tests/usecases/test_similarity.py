"""The shared title matcher: normalisation and similarity on constructed pairs."""

from __future__ import annotations

from service.usecases.studies.similarity import (
    normalise_author,
    normalise_title,
    title_similarity,
)


def test_normalise_title_drops_case_accents_and_punctuation() -> None:
    assert normalise_title('  Peer Support: a RCT of Rüsch\'s  "Honest, Open, Proud"!') == (
        "peer support a rct of rusch s honest open proud"
    )


def test_same_title_with_typo_and_punctuation_is_near_identical() -> None:
    first = "Effects of peer support on empowerment: a randomised controlled trial"
    second = "Effects of peer-support on empowerment - a randomized controlled trial."
    assert title_similarity(first, second) > 95
    assert title_similarity(first, first) == 100


def test_distinct_trials_by_same_group_are_far_apart() -> None:
    first = "Honest, Open, Proud to reduce stigma: a randomized trial in Zurich"
    second = "Peer-led recovery groups and self-efficacy in early psychosis"
    assert title_similarity(first, second) < 60


def test_normalise_author_takes_family_name() -> None:
    assert normalise_author("Rüsch, N.") == "rusch"
    assert normalise_author("Nicolas Rüsch") == "rusch"
    assert normalise_author("") == ""
