"""Helpers shared by the reliability tests: what the API answers, and what the tables hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from service.db.engine import Database
from service.db.models import (
    AuditEntry,
    EvidenceChange,
    EvidenceHead,
    EvidenceVersion,
    EvidenceVersionOutcome,
    OutcomeResult,
    Study,
    StudyArm,
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
)
EVERY_STATUS = ("pending", "included", "excluded", "withdrawn")
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


def evidence_answers(get: Get, *, studies_at_every_version: bool = True) -> dict[str, Any]:
    """What the read API answers about the evidence: studies as of each version, the versions
    and each version's detail. Two databases holding the same evidence answer the same."""
    head = head_version(get)
    answers: dict[str, Any] = {"head": head, "versions": all_pages(get, "/v1/versions")}
    shown = range(head + 1) if studies_at_every_version else (head,)
    for version in shown:
        answers[f"studies@{version}"] = studies_as_of(get, version)
    for version in range(1, head + 1):
        answers[f"version/{version}"] = get(f"/v1/versions/{version}").json()
    return answers


def table_rows(database: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every evidence table, as column values, ordered by primary key."""
    dump: dict[str, list[dict[str, Any]]] = {}
    with database.session() as session:
        for model in EVIDENCE_TABLES:
            table = model.__table__
            query = select(table).order_by(*table.primary_key.columns)
            dump[table.name] = [dict(row._mapping) for row in session.execute(query)]
    return dump
