"""Issue 28, pure parts: cleaning a source's record, the relevance score, first authors."""

from __future__ import annotations

from datetime import date

from service.schemas.surveillance import CandidateCreate
from service.usecases.surveillance.dedup import first_author_family
from service.usecases.surveillance.records import UNTITLED, clean
from service.usecases.surveillance.relevance import outcomes_named, relevance

TODAY = date(2026, 12, 6)


def test_ids_are_normalised_and_bad_ones_left_out_with_a_warning() -> None:
    record = clean(
        CandidateCreate(nct_id=" nct01234567 ", pmid="123", doi="https://doi.org/10.1000/AbC"),
        today=TODAY,
    )
    assert (record.nct_id, record.pmid, record.doi) == ("NCT01234567", "123", "10.1000/abc")
    bad = clean(CandidateCreate(nct_id="NCT123", pmid="12a", doi="abc"), today=TODAY)
    assert (bad.nct_id, bad.pmid, bad.doi) == (None, None, None)
    assert sum("malformed" in w for w in bad.warnings) == 3
    assert any("deduplicated by title only" in w for w in bad.warnings)


def test_absurd_values_become_warnings_not_errors() -> None:
    record = clean(
        CandidateCreate(year=3024, completion_date="soon", registry_status="in progress!"),
        today=TODAY,
    )
    assert (record.title, record.year, record.completion_date, record.registry_status) == (
        UNTITLED,
        None,
        None,
        None,
    )
    assert len(record.warnings) == 5  # no title, year, date, status, no ids
    assert clean(CandidateCreate(year=2027), today=TODAY).year == 2027  # next year is plausible
    status = clean(CandidateCreate(registry_status="Active, not recruiting"), today=TODAY)
    assert status.registry_status == "ACTIVE_NOT_RECRUITING"


def test_relevance_counts_peer_support_outcomes_and_randomization() -> None:
    assert relevance("Peer support and empowerment", None, ["Randomized Controlled Trial"]) == 80
    assert relevance("A trial", "peer-led groups; self-stigma and mastery", []) == 60
    assert relevance("Cognitive therapy", "randomised trial of CBT", []) == 10
    assert relevance("Unrelated", None, []) == 0
    assert outcomes_named("Self-efficacy and ISMI scores") == [
        "self-efficacy",
        "internalized-stigma",
    ]


def test_first_author_family_names_in_the_usual_forms() -> None:
    assert first_author_family("Boevink W, Kroon H") == "boevink"
    assert first_author_family("Rüsch N") == "rusch"
    assert first_author_family("Boevink, W.") == "boevink"
    assert first_author_family("Boevink") == "boevink"
    assert first_author_family("Wilma Boevink") == "boevink"
    assert first_author_family("van Gestel-Timmermans H, Brouwers EP") == "van gestel timmermans"
    assert first_author_family("  ") is None
