"""Helpers shared by the reliability tests: what the API answers, and what the tables hold."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
from sqlalchemy import select

from service.db.engine import Database
from service.db.models import (
    AuditEntry,
    Candidate,
    EvidenceChange,
    EvidenceHead,
    EvidenceVersion,
    EvidenceVersionOutcome,
    ExtractionDiscrepancy,
    OutcomeResult,
    SearchRun,
    Study,
    StudyArm,
    StudyExtraction,
    StudyRevision,
)

EVIDENCE_TABLES = (
    EvidenceHead,
    EvidenceVersion,
    EvidenceChange,
    EvidenceVersionOutcome,
    Study,
    StudyRevision,
    StudyArm,
    OutcomeResult,
    AuditEntry,
    StudyExtraction,
    ExtractionDiscrepancy,
    SearchRun,
    Candidate,
)
EVERY_STATUS = ("pending", "included", "excluded", "withdrawn")
OUTCOMES = ("empowerment", "self-efficacy", "internalized-stigma")
Get = Callable[..., httpx.Response]


def all_pages(get: Get, path: str, **params: Any) -> list[Any]:
    """Every item of a paginated list, following ``next_cursor`` to the end."""
    items: list[Any] = []
    cursor = None
    while True:
        query = {**params, "limit": 200} | ({"cursor": cursor} if cursor else {})
        response = get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def head_version(get: Get) -> int:
    items = get("/v1/versions", params={"limit": 1}).json()["items"]
    return int(items[0]["number"]) if items else 0


def studies_as_of(get: Get, version: int) -> list[Any]:
    """GET /v1/studies?as_of=version, every status, every page."""
    return all_pages(get, "/v1/studies", as_of=version, status=list(EVERY_STATUS))


def evidence_answers(get: Get, *, versions: Iterable[int] | None = None) -> dict[str, Any]:
    """What the read API answers about the evidence: the versions, and the studies as of and
    the detail of each of ``versions`` (default: every one). Two databases holding the same
    evidence answer the same."""
    head = head_version(get)
    answers: dict[str, Any] = {"head": head, "versions": all_pages(get, "/v1/versions")}
    for version in range(head + 1) if versions is None else versions:
        answers[f"studies@{version}"] = studies_as_of(get, version)
        if version > 0:
            answers[f"version/{version}"] = get(f"/v1/versions/{version}").json()
    return answers


def pooled_answers(get: Get, versions: Iterable[int]) -> dict[str, Any]:
    """The pooled results of every outcome, and the summary table, as of each of ``versions``:
    status, ETag and body."""
    answers: dict[str, Any] = {}
    for version in versions:
        paths = [f"/v1/outcomes/{outcome}/pooled" for outcome in OUTCOMES] + ["/v1/pooled"]
        for path in paths:
            response = get(path, params={"as_of": version})
            assert response.status_code == 200, response.text
            answers[f"{path}@{version}"] = (response.headers["etag"], response.json())
    return answers


def table_rows(database: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every evidence table, as column values, ordered by primary key."""
    dump: dict[str, list[dict[str, Any]]] = {}
    with database.session() as session:
        for model in EVIDENCE_TABLES:
            table = model.__table__
            query = select(table).order_by(*table.primary_key.columns)
            dump[table.name] = [dict(row._mapping) for row in session.execute(query)]
    # The candidates' write counter is no evidence: it only tells readers' memos that the
    # ongoing trials may have changed, and a restore moves it on purpose (issue 28).
    for row in dump.get("evidence_head", []):
        row.pop("surveillance_version", None)
    return dump
