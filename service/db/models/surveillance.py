"""Surveillance (issue 28): search runs of the update bots and the candidates they find.

A ``search_run`` is one search of one source (``ctgov``, ``pubmed``, ...) over a window of
dates; its counts feed the PRISMA 2020 flow (Page et al. 2021, BMJ 372:n71, figure 1). A
``candidate`` is one record found: its ids in the sources (NCT, PMID, DOI), its bibliographic
fields, what the registry says (status, expected completion, whether results are posted), a
relevance score, warnings about the source's data, and the curator's decision. Duplicates of a
stored study are kept (``decision = "duplicate"``) so a curator can see and overrule them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UtcDateTime


class SearchRun(Base):
    """One search of one source over ``[window_start, window_end)``."""

    __tablename__ = "search_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40), index=True)
    query: Mapped[str] = mapped_column(String(2000))
    window_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    found: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(String(2000))


class Candidate(Base):
    """A record found by a search, waiting for (or carrying) a curator's decision."""

    __tablename__ = "candidate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_run_id: Mapped[int] = mapped_column(ForeignKey("search_run.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    nct_id: Mapped[str | None] = mapped_column(String(20), index=True)
    pmid: Mapped[str | None] = mapped_column(String(20), index=True)
    doi: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(1000))
    authors: Mapped[str | None] = mapped_column(String(2000))
    year: Mapped[int | None] = mapped_column(Integer)
    abstract: Mapped[str | None] = mapped_column(Text)
    publication_types: Mapped[list[str]] = mapped_column(JSON)
    registry_status: Mapped[str | None] = mapped_column(String(60))
    completion_date: Mapped[str | None] = mapped_column(String(10))
    has_results: Mapped[bool] = mapped_column(Boolean, default=False)
    outcomes: Mapped[list[str]] = mapped_column(JSON)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    warnings: Mapped[list[str]] = mapped_column(JSON)
    relevance: Mapped[float] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(16), index=True)
    exclusion_reason: Mapped[str | None] = mapped_column(String(40))
    duplicate_of_study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id"))
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id"))
    note: Mapped[str | None] = mapped_column(String(2000))
    found_at: Mapped[datetime] = mapped_column(UtcDateTime)
    screened_by: Mapped[str | None] = mapped_column(String(200))
    screened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
