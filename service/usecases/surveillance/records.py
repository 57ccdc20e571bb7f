"""A source's record, cleaned: what can be kept is kept, what cannot becomes a warning.

Sources are messy (missing titles, malformed ids, a year of 3024): the record is stored anyway
with a warning per problem, so no record is lost before a person has seen it, and nothing it
says is trusted blindly. Ids are normalised to the forms the studies use (``NCT`` + 8 digits,
PMID digits, DOI ``10.x/...`` lower case without a resolver prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.schemas.surveillance import CandidateCreate
from service.usecases.surveillance.relevance import outcomes_named, relevance

_NCT = re.compile(r"^NCT\d{8}$")
_PMID = re.compile(r"^\d{1,9}$")
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_PREFIX = re.compile(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_STATUS = re.compile(r"^[A-Z_]{2,60}$")
UNTITLED = "(no title in the source record)"
LIMITS = {"title": 1000, "authors": 2000, "registry_status": 60}


@dataclass(slots=True)
class CleanRecord:
    """The fields a candidate row is made of, and the warnings found on the way."""

    nct_id: str | None = None
    pmid: str | None = None
    doi: str | None = None
    title: str = UNTITLED
    authors: str | None = None
    year: int | None = None
    abstract: str | None = None
    publication_types: list[str] = field(default_factory=list)
    registry_status: str | None = None
    completion_date: str | None = None
    has_results: bool = False
    draft: dict[str, Any] | None = None
    outcomes: list[str] = field(default_factory=list)
    relevance: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def ids(self) -> tuple[str | None, str | None, str | None]:
        return self.nct_id, self.pmid, self.doi


def clean(record: CandidateCreate, *, today: date) -> CleanRecord:
    """``record`` as it will be stored (rules in the module docstring)."""
    out = CleanRecord(warnings=[w[:500] for w in record.warnings])
    out.nct_id = _id(record.nct_id, "nct_id", out, upper=True, pattern=_NCT)
    out.pmid = _id(record.pmid, "pmid", out, upper=False, pattern=_PMID)
    doi = _DOI_PREFIX.sub("", record.doi or "").strip().lower() or None
    out.doi = _id(doi, "doi", out, upper=False, pattern=_DOI)
    out.title = _text(record.title, "title", out) or UNTITLED
    if out.title == UNTITLED:
        out.warnings.append("the source gives no title")
    out.authors = _text(record.authors, "authors", out)
    out.year = _year(record.year, out, today)
    out.abstract = record.abstract or None
    out.publication_types = [t[:100] for t in record.publication_types if t]
    out.registry_status = _status(record.registry_status, out)
    out.completion_date = _completion(record.completion_date, out)
    out.has_results = record.has_results
    out.draft = record.draft
    if not any(out.ids):
        out.warnings.append("the record has no NCT id, PMID or DOI: deduplicated by title only")
    text = f"{out.title} {out.abstract or ''}"
    out.outcomes = outcomes_named(text)
    out.relevance = relevance(out.title, out.abstract, out.publication_types)
    return out


def _id(
    value: str | None, name: str, out: CleanRecord, *, upper: bool, pattern: re.Pattern[str]
) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip().upper() if upper else value.strip()
    if pattern.match(text) is None:
        out.warnings.append(f"{name} {value[:60]!r} is malformed and was left out")
        return None
    return text


def _text(value: str | None, name: str, out: CleanRecord) -> str | None:
    if value is None or not value.strip():
        return None
    text = " ".join(value.split())
    limit = LIMITS[name]
    if len(text) > limit:
        out.warnings.append(f"{name} was cut to {limit} characters")
        text = text[: limit - 1] + "…"
    return text


def _year(value: int | None, out: CleanRecord, today: date) -> int | None:
    if value is None:
        return None
    if not 1900 <= value <= today.year + 1:
        out.warnings.append(f"year {value} is implausible and was left out")
        return None
    return value


def _status(value: str | None, out: CleanRecord) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip().upper().replace(" ", "_").replace(",", "")
    if _STATUS.match(text) is None:
        out.warnings.append(f"registry status {value[:60]!r} is not recognised")
        return None
    return text


def _completion(value: str | None, out: CleanRecord) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DATE.match(text) is None:
        out.warnings.append(f"completion date {value[:40]!r} is not YYYY[-MM[-DD]]")
        return None
    return text
