"""The ClinicalTrials.gov API v2 watcher: new and updated registrations, and posted results.

``GET {base}/api/v2/studies`` (https://clinicaltrials.gov/data-api/api) with ``query.intr``
(the intervention), ``query.cond`` and ``query.term``; the window is ``filter.advanced=
AREA[LastUpdatePostDate]RANGE[start,end]`` (Essie search areas, https://clinicaltrials.gov/
find-studies/constructing-complex-search-queries); pages of ``pageSize`` studies follow
``nextPageToken`` as ``pageToken``. Each study becomes a candidate (the record layout is
https://clinicaltrials.gov/data-api/about-api/study-data-structure): ``protocolSection``
gives the ids, titles, status and expected completion; ``hasResults`` and ``resultsSection``
the results, mapped to a study draft by :mod:`.ctgov_results`; a RESULT reference gives the
PMID of the results paper. Anything missing or odd is a warning on the candidate, never a
crash.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from service.bots.ctgov_results import Instrument, draft, get_path, officials, weeks, year_of
from service.bots.polite import Polite

__all__ = ["Instrument", "Query", "candidate", "draft", "search", "weeks"]

PAGE_SIZE = 100
SOURCE = "ctgov"


@dataclass(frozen=True, slots=True)
class Query:
    """What to search: ``query.intr``, ``query.cond``, ``query.term`` (empty: left out)."""

    intervention: str = "peer support"
    condition: str = ""
    term: str = ""

    def text(self) -> str:
        """The query as the service's search run records it."""
        parts = [("intr", self.intervention), ("cond", self.condition), ("term", self.term)]
        return " ".join(f"{name}={value!r}" for name, value in parts if value)


def search(
    http: Polite, base: str, query: Query, since: date | None, until: date
) -> Iterator[dict[str, Any]]:
    """Every study updated in ``[since, until]`` (``since`` None: from the start), page by page."""
    start = since.isoformat() if since else "MIN"
    params: dict[str, Any] = {
        "filter.advanced": f"AREA[LastUpdatePostDate]RANGE[{start},{until.isoformat()}]",
        "pageSize": PAGE_SIZE,
        "format": "json",
    }
    for name, value in (
        ("query.intr", query.intervention),
        ("query.cond", query.condition),
        ("query.term", query.term),
    ):
        if value:
            params[name] = value
    token: str | None = None
    while True:
        page = http.get(
            f"{base}/api/v2/studies",
            {**params, **({"pageToken": token} if token else {})},
            _json_page,
        )
        yield from page.get("studies") or []
        token = page.get("nextPageToken")
        if not token:
            return


def _json_page(response: httpx.Response) -> dict[str, Any]:
    page = response.json()  # ValueError when truncated: retried
    if not isinstance(page, dict) or not isinstance(page.get("studies", []), list):
        raise ValueError("not a page of studies")
    return page


def candidate(study: Mapping[str, Any], instruments: Sequence[Instrument]) -> dict[str, Any]:
    """The candidate body of one study (``POST /v1/search-runs/{id}/candidates``)."""
    warnings: list[str] = []
    protocol = get_path(study, "protocolSection") or {}
    ident = get_path(protocol, "identificationModule") or {}
    status = get_path(protocol, "statusModule") or {}
    nct = ident.get("nctId")
    if not nct:
        warnings.append("the registry record has no nctId")
    title = ident.get("officialTitle") or ident.get("briefTitle")
    completion = get_path(status, "completionDateStruct", "date") or get_path(
        status, "primaryCompletionDateStruct", "date"
    )
    has_results = bool(study.get("hasResults")) and isinstance(study.get("resultsSection"), Mapping)
    body: dict[str, Any] = {
        "nct_id": nct,
        "pmid": _result_pmid(protocol),
        "title": title,
        "authors": officials(protocol),
        "year": year_of(get_path(status, "startDateStruct", "date")),
        "abstract": get_path(protocol, "descriptionModule", "briefSummary"),
        "publication_types": [
            t for t in (get_path(protocol, "designModule", "studyType"),) if isinstance(t, str)
        ],
        "registry_status": status.get("overallStatus"),
        "completion_date": completion if isinstance(completion, str) else None,
        "has_results": has_results,
        "warnings": warnings,
    }
    if has_results:
        body["draft"] = draft(study, instruments, warnings)
    return body


def _result_pmid(protocol: Mapping[str, Any]) -> str | None:
    """The PMID of the trial's results publication (``referencesModule``, type RESULT)."""
    for reference in get_path(protocol, "referencesModule", "references") or []:
        if isinstance(reference, Mapping) and reference.get("type") == "RESULT":
            pmid = reference.get("pmid")
            return str(pmid) if pmid else None
    return None
