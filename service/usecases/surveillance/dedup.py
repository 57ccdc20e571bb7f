"""Is a found record one we have already? Against candidates first, then stored studies.

Deduplication as Bramer et al. 2016 (J Med Libr Assoc 104:240) describe it for systematic
reviews: exact identifiers first, then normalised titles, then author and year.

1. A candidate sharing any id (NCT, PMID, DOI) is the same record: the ids link a registry
   entry to its publications (NCT <-> PMID <-> DOI). Else a candidate whose title is at least
   :data:`TITLE_THRESHOLD` alike (:func:`~service.usecases.studies.similarity.title_similarity`,
   the matcher study near-duplicates use) is the same record. Either way no new row is stored:
   the old one gains the new ids and, from the same source, the newer registry facts.
2. A current study with the record's registration id, PMID or DOI, or a title at least as
   alike, or the same first author and year, is a stored duplicate: the candidate is kept with
   ``decision = "duplicate"`` and the study's id, visible and open to screening, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.db.models import Candidate
from service.db.repositories.surveillance import StoredRecord, SurveillanceRepository
from service.usecases.studies.similarity import normalise_title, title_similarity
from service.usecases.surveillance.records import UNTITLED, CleanRecord

TITLE_THRESHOLD = 90.0


@dataclass(frozen=True, slots=True)
class StudyMatch:
    study_id: int
    reason: str


def same_candidate(repository: SurveillanceRepository, record: CleanRecord) -> Candidate | None:
    """Step 1 of the module docstring (a record with neither ids nor a title is the same
    record only when everything else it says is identical)."""
    found = repository.by_ids(*record.ids)
    if found is not None:
        return found
    for candidate in repository.titled_candidates(record.year):
        if record.title == UNTITLED:
            if _content(candidate) == _content(record) and not any(_ids(candidate)):
                return candidate
        elif title_similarity(candidate.title, record.title) >= TITLE_THRESHOLD:
            return candidate
    return None


def _ids(row: Candidate) -> tuple[str | None, str | None, str | None]:
    return row.nct_id, row.pmid, row.doi


def _content(row: Candidate | CleanRecord) -> tuple[object, ...]:
    return (
        row.title,
        row.authors,
        row.year,
        row.abstract,
        row.registry_status,
        row.completion_date,
    )


def stored_match(studies: Sequence[StoredRecord], record: CleanRecord) -> StudyMatch | None:
    """Step 2 of the module docstring."""
    for study in studies:
        for name, mine, theirs in (
            ("registration id", record.nct_id, study.registration_id),
            ("PMID", record.pmid, study.pmid),
            ("DOI", record.doi, (study.doi or "").lower() or None),
        ):
            if mine is not None and mine == theirs:
                return StudyMatch(study.study_id, f"same {name} as study {study.study_id}")
    if record.title != UNTITLED:
        for study in studies:
            if title_similarity(study.title, record.title) >= TITLE_THRESHOLD:
                return StudyMatch(study.study_id, f"same title as study {study.study_id}")
    author = first_author_family(record.authors)
    if author and record.year is not None:
        for study in studies:
            if study.year == record.year and first_author_family(study.authors) == author:
                reason = f"same first author and year as study {study.study_id}"
                return StudyMatch(study.study_id, reason)
    return None


def first_author_family(authors: str | None) -> str | None:
    """The first author's family name, normalised, from "Family AB, Other C" (PubMed),
    "Family, A. B." or "Given Family" forms ("Rüsch N, ..." -> "rusch")."""
    if not authors or not authors.strip():
        return None
    first = authors.replace(";", ",").split(",")[0].strip()
    words = first.split()
    if not words:
        return None
    if len(words) > 1 and words[-1].replace(".", "").isupper() and len(words[-1]) <= 4:
        family = " ".join(words[:-1])  # "Boevink W" (MEDLINE's AU form)
    elif "," in authors and len(words) == 1:
        family = words[0]  # "Boevink, W."
    else:
        family = words[-1]  # "Wilma Boevink"
    return normalise_title(family) or None


def merge_into(candidate: Candidate, record: CleanRecord, source: str) -> None:
    """The old candidate gains the record's ids; from the same source, its newer facts."""
    candidate.nct_id = candidate.nct_id or record.nct_id
    candidate.pmid = candidate.pmid or record.pmid
    candidate.doi = candidate.doi or record.doi
    if candidate.source != source:
        return
    candidate.registry_status = record.registry_status or candidate.registry_status
    candidate.completion_date = record.completion_date or candidate.completion_date
    if record.has_results and not candidate.has_results:
        candidate.has_results = True
        candidate.draft = record.draft or candidate.draft
    candidate.warnings = [
        *candidate.warnings,
        *[w for w in record.warnings if w not in candidate.warnings],
    ]
