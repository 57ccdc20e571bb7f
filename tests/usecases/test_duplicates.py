"""Near-duplicate studies on constructed pairs: the thresholds of
:mod:`service.usecases.studies.duplicates` (issue 26)."""

from __future__ import annotations

import pytest

from service.usecases.studies.duplicates import (
    TrialRecord,
    find_near_duplicates,
    first_author,
    likely_duplicate,
)

TITLE = "A peer-led recovery group for adults with severe mental illness: a randomized trial"
ORIGINAL = TrialRecord(TITLE, "Jansen A, de Vries M", 2016, (70, 68), study_id=1)


def _copy(**changes: object) -> TrialRecord:
    fields = {"title": TITLE, "authors": "Jansen A, de Vries M", "year": 2016,
              "arm_sizes": (70, 68)} | changes  # fmt: skip
    return TrialRecord(**fields)  # type: ignore[arg-type]


TRUE_DUPLICATES = {
    "identical": _copy(),
    "typo in the title": _copy(title=TITLE.replace("recovery", "recovrey")),
    "case and punctuation": _copy(title=TITLE.upper().replace(":", " -").replace("-led", " led")),
    "british spelling, final stop": _copy(title=TITLE.replace("randomized", "randomised") + "."),
    "author written differently": _copy(authors="Jansen, A.; de Vries, M."),
    "accent on the author": _copy(authors="Jånsen A"),
    "published a year later": _copy(year=2017),
    "arms listed the other way round": _copy(arm_sizes=(68, 70)),
    "same title, corrected arm sizes": _copy(arm_sizes=(71, 68)),
}
DISTINCT = {
    "same group, same year, second trial": _copy(
        title=TITLE.replace("adults", "young adults") + " in rural clinics", arm_sizes=(40, 41)
    ),
    "same group, same year, one word apart, other arms": _copy(
        title=TITLE.replace("group", "course"), arm_sizes=(52, 50)
    ),
    "another first author": _copy(authors="Bakker L, Jansen A"),
    "two years later": _copy(year=2018),
    "other registered trial": TrialRecord(
        TITLE, "Jansen A", 2016, (70, 68), registration_id="ISRCTN2"
    ),
}


@pytest.mark.parametrize("name", sorted(TRUE_DUPLICATES))
def test_true_duplicates_are_found(name: str) -> None:
    evidence = likely_duplicate(TRUE_DUPLICATES[name], ORIGINAL)
    assert evidence is not None, name
    assert evidence.first_author == "jansen"
    assert evidence.title_similarity >= 90


@pytest.mark.parametrize("name", sorted(DISTINCT))
def test_distinct_trials_are_not(name: str) -> None:
    original = TrialRecord(TITLE, "Jansen A", 2016, (70, 68), registration_id="ISRCTN1")
    assert likely_duplicate(DISTINCT[name], original) is None, name


def test_first_author_reads_the_usual_forms() -> None:
    for authors in ("Rüsch N, Doe K", "Rüsch, N.; Doe, K.", "Rusch N.", "RÜSCH N"):
        assert first_author(authors) in ("rusch", "rusch n")
    assert first_author("de Vries M, Jansen A") == "de vries"


def test_a_batch_is_matched_with_stored_studies_and_within_itself() -> None:
    new = [_copy(year=2020, title="Other"), _copy(), _copy(year=2020, title="other.")]
    found = find_near_duplicates(new, [ORIGINAL])
    pairs = {(d.index, d.existing.study_id, d.existing.title) for d in found}
    assert pairs == {(1, 1, TITLE), (2, None, "Other")}
    [stored] = [d for d in found if d.index == 1]
    assert stored.evidence.as_dict() == {
        "title_similarity": 100.0, "first_author": "jansen", "years": [2016, 2016],
        "same_arm_sizes": True, "arm_sizes": [[70, 68], [70, 68]],
    }  # fmt: skip


def _every_pair(new: list[TrialRecord]) -> list[tuple[int, int]]:
    """Each record's likely duplicates among the records before it, in batch order: what
    find_near_duplicates reports within a batch, found by comparing every pair."""
    return [
        (index, earlier)
        for index, record in enumerate(new)
        for earlier in range(index)
        if likely_duplicate(record, new[earlier]) is not None
    ]


def test_within_a_batch_matches_come_in_batch_order_whatever_the_years() -> None:
    years = [2016, 2018, 2015, 2017, 2016, 2019, 2014, 2017, 2016, 2018]
    authors = ["Jansen A", "Bakker L"]
    new = [
        _copy(year=year, authors=authors[index % 3 == 0], arm_sizes=(70 + index % 2, 68))
        for index, year in enumerate(years)
    ]
    found = find_near_duplicates(new, [])
    reported = [(d.index, new.index(d.existing)) for d in found]
    assert reported == _every_pair(new)
    assert len(reported) >= 5  # years within the window, out of order, two first authors


def test_registration_ids_keep_apart_only_two_different_ids_in_stored_and_batch_order() -> None:
    # Matches as comparing every pair finds them: stored records by year then as given, then
    # the batch's earlier records in batch order; none between two different registration ids
    # (none, "", the same id and another id on either side, across the year window).
    ids = [None, "", "NCT1", "NCT2", "NCT1", None, "NCT2", "", "NCT3", None]
    years = [2016, 2017, 2015, 2016, 2017, 2016, 2015, 2016, 2017, 2016]
    stored = [
        _copy(year=year, registration_id=reg, study_id=position + 1)
        for position, (year, reg) in enumerate(zip(years[:6], ids[:6], strict=True))
    ]
    new = [
        _copy(year=year, registration_id=reg)
        for year, reg in zip(reversed(years), reversed(ids), strict=True)
    ]
    found = find_near_duplicates(new, stored)
    in_order = sorted(enumerate(stored), key=lambda pair: (pair[1].year, pair[0]))
    expected = [
        (index, existing)
        for index, record in enumerate(new)
        for existing in [r for _, r in in_order] + new[:index]
        if likely_duplicate(record, existing) is not None
    ]
    assert [(d.index, d.existing) for d in found] == expected
    assert any(d.existing.study_id is None for d in found)  # within the batch too
    assert all(
        not (new[d.index].registration_id and d.existing.registration_id)
        or new[d.index].registration_id == d.existing.registration_id
        for d in found
    )
