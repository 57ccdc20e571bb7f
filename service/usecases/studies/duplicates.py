"""Near-duplicate studies: the same trial entered twice without a shared DOI or registration id.

A new study is a *likely duplicate* of a stored one (or of another study of the same batch)
when all of these hold (constants below; tested on constructed pairs in
tests/usecases/test_duplicates.py):

1. the years are at most ``YEAR_WINDOW`` (1) apart: a trial is often published the year after
   its conference abstract or preprint;
2. the first authors' family names are the same after normalisation (accents, case and
   punctuation dropped: "Rüsch, N." and "Rusch N" agree);
3. the titles are similar: rapidfuzz ``token_sort_ratio`` of the normalised titles (the shared
   matcher, :mod:`~service.usecases.studies.similarity`) at least ``TITLE_SIMILAR`` (90), which
   typos, re-punctuation, case and word order leave a true copy above;
4. and either the arms' randomized sizes are the same (as a multiset), or the normalised
   titles are identical (``TITLE_SAME``, 100): two trials by one group in one year usually
   differ in their titles *and* their arm sizes, while a re-entered record keeps both.

Two records with different registration ids are different registered trials and never match
(Bramer et al. 2016, J Med Libr Assoc 104:240, match on identifiers before titles). A caller
that knows better confirms with ``"duplicate_of": null``; the confirmation is recorded in the
version's summary.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from service.db.repositories.studies import StudyRepository
from service.errors import PossibleDuplicateError
from service.schemas.studies import StudyCreate, StudyRead
from service.usecases.studies.similarity import normalise_title

_WORDS = re.compile(r"[\s.]+")
YEAR_WINDOW = 1
TITLE_SIMILAR = 90.0
TITLE_SAME = 100.0


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """What a study is matched on; ``study_id`` is ``None`` for a study not yet stored."""

    title: str
    authors: str
    year: int
    arm_sizes: tuple[int, ...]
    registration_id: str | None = None
    study_id: int | None = None

    @property
    def first_author(self) -> str:
        return first_author(self.authors)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why two records look like one trial: the numbers a curator checks."""

    title_similarity: float
    first_author: str
    years: tuple[int, int]
    same_arm_sizes: bool
    arm_sizes: tuple[tuple[int, ...], tuple[int, ...]]

    def as_dict(self) -> dict[str, object]:
        return {
            "title_similarity": round(self.title_similarity, 1),
            "first_author": self.first_author,
            "years": list(self.years),
            "same_arm_sizes": self.same_arm_sizes,
            "arm_sizes": [list(sizes) for sizes in self.arm_sizes],
        }


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    """Record ``index`` (of the new ones) is likely ``existing``."""

    index: int
    existing: TrialRecord
    evidence: Evidence


@lru_cache(maxsize=16_384)
def first_author(authors: str) -> str:
    """The first author's family name, normalised: "Rüsch N, Doe K", "Rüsch, N.; Doe, K." and
    "Rusch N." all give "rusch" (initials, written in capitals, are dropped)."""
    head = authors.split(";")[0].split(",")[0]
    words = [w for w in _WORDS.split(head) if w and not (w.isupper() and len(w) <= 3)]
    return normalise_title(" ".join(words) or head)


def evidence_for(new: TrialRecord, old: TrialRecord, similarity: float) -> Evidence | None:
    """The evidence that ``new`` is ``old`` (title similarity given), or ``None``."""
    if new.registration_id and old.registration_id and new.registration_id != old.registration_id:
        return None
    if abs(new.year - old.year) > YEAR_WINDOW or similarity < TITLE_SIMILAR:
        return None
    if new.first_author != old.first_author:
        return None
    same_sizes = sorted(new.arm_sizes) == sorted(old.arm_sizes)
    if not same_sizes and similarity < TITLE_SAME:
        return None
    return Evidence(
        similarity, new.first_author, (new.year, old.year), same_sizes,
        (new.arm_sizes, old.arm_sizes),
    )  # fmt: skip


def likely_duplicate(new: TrialRecord, old: TrialRecord) -> Evidence | None:
    """:func:`evidence_for` one pair, its title similarity computed here."""
    similarity = fuzz.token_sort_ratio(normalise_title(new.title), normalise_title(old.title))
    return evidence_for(new, old, float(similarity))


def find_near_duplicates(
    new: Sequence[TrialRecord], stored: Iterable[TrialRecord]
) -> list[NearDuplicate]:
    """Each new record's likely duplicates among ``stored`` and the new records before it.

    Titles are compared in bulk (rapidfuzz ``process.extract`` with a score cut-off) only
    among the records that rules 1 and 2 and the registration ids leave in reach: the same
    first author, the years in the window, no different registration id. So a batch of a
    thousand against ten thousand stored studies stays a matter of milliseconds.
    """
    # Stored records in reach come in the order of their years, then as given; the batch's
    # earlier records in batch order (the order matches are reported in), whatever their years.
    stored_reach = _Reach()
    for position, record in enumerate(stored):
        stored_reach.add((record.year, position), record)
    earlier_reach = _Reach()
    found: list[NearDuplicate] = []
    for index, record in enumerate(new):
        pool = stored_reach.of(record) + earlier_reach.of(record)
        found += _matches(index, record, pool)
        earlier_reach.add((index,), record)
    return found


_Ordered = tuple[tuple[int, ...], TrialRecord]


class _Reach:
    """Records by year and first author, and within those by registration id, so that the
    records a new one may be (rules 1 and 2, and no different registration id) are looked up,
    not scanned for: a batch of 1,000 by a few first authors compared each record with every
    earlier one of its author, ~50,000 checks, to keep almost none (each trial its own id)."""

    def __init__(self) -> None:
        self._by: defaultdict[tuple[int, str], defaultdict[str, list[_Ordered]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def add(self, order: tuple[int, ...], record: TrialRecord) -> None:
        """Add ``record``; :meth:`of` lists records in the order of ``order``."""
        by_id = self._by[record.year, record.first_author]
        by_id[record.registration_id or ""].append((order, record))

    def of(self, record: TrialRecord) -> list[TrialRecord]:
        """The records ``record`` may be one trial with (rules 1 and 2, the ids), in order."""
        found: list[_Ordered] = []
        for year in range(record.year - YEAR_WINDOW, record.year + YEAR_WINDOW + 1):
            by_id = self._by.get((year, record.first_author))
            if not by_id:
                continue
            if record.registration_id:  # unregistered ones, and the same id: never another id
                found += by_id.get("", []) + by_id.get(record.registration_id, [])
            else:
                found += (pair for pairs in by_id.values() for pair in pairs)
        found.sort(key=itemgetter(0))
        return [r for _, r in found]


def _matches(index: int, record: TrialRecord, pool: list[TrialRecord]) -> list[NearDuplicate]:
    if not pool:
        return []
    scored = process.extract(
        normalise_title(record.title),
        [normalise_title(r.title) for r in pool],
        scorer=fuzz.token_sort_ratio,
        score_cutoff=TITLE_SIMILAR,
        limit=None,
    )
    matches = []
    for _, score, position in scored:
        evidence = evidence_for(record, pool[position], float(score))
        if evidence is not None:
            matches.append(NearDuplicate(index, pool[position], evidence))
    return matches


def record_of(study: StudyCreate) -> TrialRecord:
    """What a new study is matched on."""
    return TrialRecord(
        study.title, study.authors, study.year, tuple(a.n_randomized for a in study.arms),
        registration_id=study.registration_id,
    )  # fmt: skip


def stored_records(
    session: Session, new: Sequence[TrialRecord], *, except_study_id: int | None = None
) -> list[TrialRecord]:
    """The stored studies that could be a near-duplicate of a record of ``new``.

    Narrowed before titles are compared, by rules 1 and 2 and the registration ids: in SQL to
    the years in reach and, when every new record has a registration id, to studies without
    one or with one of those (a different id is a different trial); then to the first authors
    of ``new``. Only those studies' titles and arms are loaded. A superset of what
    :func:`evidence_for` can match, so the answer is the same as comparing with every study.
    """
    years = {r.year + d for r in new for d in range(-YEAR_WINDOW, YEAR_WINDOW + 1)}
    registrations = [r.registration_id or "" for r in new]
    repository = StudyRepository(session)
    authors = repository.near_duplicate_authors(
        years,
        registration_ids=registrations if all(registrations) else None,
        except_study_id=except_study_id,
    )
    wanted = {r.first_author for r in new}
    ids = [study_id for study_id, names in authors if first_author(names) in wanted]
    return [
        TrialRecord(row.title, row.authors, row.year, tuple(row.arm_sizes),
                    registration_id=row.registration_id, study_id=row.study_id)
        for row in repository.near_duplicate_candidates(ids)
    ]  # fmt: skip


def _described(found: NearDuplicate, at: str) -> dict[str, object]:
    existing = found.existing
    where = (
        f"/v1/studies/{existing.study_id}" if existing.study_id is not None else "the same batch"
    )
    return {
        "index": found.index,
        "field": f"{at}{found.index}" if at else "body",
        "existing": where,
        "existing_study_id": existing.study_id,
        "existing_title": existing.title,
        "existing_authors": existing.authors,
        "existing_year": existing.year,
        "evidence": found.evidence.as_dict(),
    }


def refuse_near_duplicates(
    session: Session,
    studies: Sequence[StudyCreate],
    *,
    batch: bool,
    except_study_id: int | None = None,
) -> None:
    """409 ``possible-duplicate`` naming each likely duplicate, unless the study confirms it is
    distinct (``duplicate_of: null``). Call it holding the evidence lock; nothing is written
    when it raises."""
    records = [record_of(s) for s in studies]
    found = [
        d
        for d in find_near_duplicates(
            records, stored_records(session, records, except_study_id=except_study_id)
        )
        if not studies[d.index].confirmed_distinct
    ]  # fmt: skip
    if not found:
        return
    described = [_described(d, "studies." if batch else "") for d in found]
    first = described[0]
    row = f"studies.{first['index']} " if batch else ""
    raise PossibleDuplicateError(
        f"{len(found)} likely duplicate(s): {row}looks like {first['existing']} "
        f"({first['existing_authors']}, {first['existing_year']}: {first['existing_title']}); "
        f"evidence: {first['evidence']}. If it is another trial, send it again with "
        '"duplicate_of": null; nothing was stored.',
        extra={"duplicates": described},
    )


def confirmation_note(studies: Sequence[StudyCreate]) -> str:
    """The version summary's note of studies confirmed distinct (empty when none)."""
    count = sum(1 for s in studies if s.confirmed_distinct)
    if not count:
        return ""
    return f"; {count} confirmed not a duplicate (duplicate_of: null)"


def record_of_read(study: StudyRead) -> TrialRecord:
    """What a stored study is matched on (from its read model)."""
    return TrialRecord(
        study.title, study.authors, study.year, tuple(a.n_randomized for a in study.arms),
        registration_id=study.registration_id, study_id=study.id,
    )  # fmt: skip


def possible_duplicates(session: Session, study: StudyRead) -> list[NearDuplicate]:
    """The stored studies ``study`` is likely a duplicate of (for the curation queue, which
    shows each pair side by side)."""
    record = record_of_read(study)
    stored = stored_records(session, [record], except_study_id=study.id)
    return find_near_duplicates([record], stored)


MATCHED_FIELDS = frozenset({"title", "authors", "year", "arms", "registration_id"})
"""The fields a change to which is checked for near-duplicates again (PATCH)."""
