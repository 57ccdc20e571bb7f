"""Search runs, candidates, screening decisions, PRISMA counts and ongoing trials (issue 28).

Candidate bodies are lenient on purpose: a source's record with missing fields or absurd values
is stored with warnings (:mod:`service.usecases.surveillance.records`), never refused, so that
no found record is lost before a person has seen it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from service.schemas.common import FreeJsonObject, FreeText, ReadModel, RequestModel
from service.schemas.studies import StudyCreate

SourceName = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")
]
Decision = Literal["include", "exclude", "maybe"]
CandidateDecision = Literal["unscreened", "duplicate", "include", "exclude", "maybe"]
ExclusionReason = Literal[
    "not-peer-support",
    "not-randomized",
    "wrong-population",
    "wrong-comparator",
    "no-review-outcome",
    "not-a-trial-report",
    "duplicate",
    "other",
]
MAX_CANDIDATES = 200


class SearchRunCreate(RequestModel):
    """A bot starts a search of ``source``; the window starts at the last successful run's end."""

    source: SourceName = Field(examples=["ctgov"])
    query: FreeText = Field(min_length=1, max_length=2000, examples=["peer support"])
    window_end: AwareDatetime | None = Field(
        default=None, description="The end of the window searched (default: now), with its offset."
    )


class SearchRunFinish(RequestModel):
    """How the run ended; only a succeeded run moves the watermark."""

    status: Literal["succeeded", "failed"]
    note: FreeText | None = Field(default=None, max_length=2000)


class SearchRunRead(ReadModel):
    id: int
    source: str
    query: str
    window_start: datetime | None = Field(
        description="The watermark: the end of the last successful run of the same search."
    )
    window_end: datetime
    status: Literal["running", "succeeded", "failed"]
    actor: str
    started_at: datetime
    finished_at: datetime | None
    found: int
    new: int
    duplicates: int
    note: str | None


class CandidateCreate(RequestModel):
    """One record as the source gives it; every field but ``source`` may be missing."""

    nct_id: FreeText | None = Field(default=None, max_length=200, examples=["NCT01234567"])
    pmid: FreeText | None = Field(default=None, max_length=200)
    doi: FreeText | None = Field(default=None, max_length=500)
    title: FreeText | None = Field(default=None, max_length=10_000)
    authors: FreeText | None = Field(default=None, max_length=10_000)
    year: int | None = None
    abstract: FreeText | None = Field(default=None, max_length=200_000)
    publication_types: list[FreeText] = Field(default_factory=list, max_length=50)
    registry_status: FreeText | None = Field(default=None, max_length=200)
    completion_date: FreeText | None = Field(default=None, max_length=200)
    has_results: bool = False
    draft: FreeJsonObject | None = Field(
        default=None, description="A study body prefilled from the source, as far as it goes."
    )
    warnings: list[FreeText] = Field(default_factory=list, max_length=50)


class CandidateBatch(RequestModel):
    candidates: list[CandidateCreate] = Field(min_length=1, max_length=MAX_CANDIDATES)


class CandidateOutcome(ReadModel):
    """What became of one posted record."""

    candidate_id: int
    result: Literal["new", "duplicate"]
    duplicate_of_study_id: int | None
    warnings: list[str]


class CandidateBatchRead(ReadModel):
    run: SearchRunRead
    candidates: list[CandidateOutcome]


class CandidateRead(ReadModel):
    id: int
    search_run_id: int
    source: str
    nct_id: str | None
    pmid: str | None
    doi: str | None
    title: str
    authors: str | None
    year: int | None
    abstract: str | None
    publication_types: list[str]
    registry_status: str | None
    completion_date: str | None
    has_results: bool
    outcomes: list[str]
    draft: dict[str, Any] | None
    warnings: list[str]
    relevance: float
    decision: CandidateDecision
    exclusion_reason: str | None
    duplicate_of_study_id: int | None
    study_id: int | None
    note: str | None
    found_at: datetime
    screened_by: str | None
    screened_at: datetime | None


class ScreeningCreate(RequestModel):
    """A curator's decision. ``include`` stores a pending study: ``study`` when given, else
    the candidate's draft when it is a complete study; otherwise the candidate is included
    and awaits data extraction (``study_id`` null)."""

    # "A reason with exclude", in the spec too (issue 25; if/then, which openapi-python-client
    # leaves alone). The use case refuses its absence, naming ``reason``.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"required": ["decision"], "properties": {"decision": {"const": "exclude"}}},
            "then": {"required": ["reason"], "properties": {"reason": {"type": "string"}}},
        }
    )

    decision: Decision
    reason: ExclusionReason | None = Field(default=None, description="Required with exclude: why.")
    note: FreeText | None = Field(default=None, max_length=2000)
    study: StudyCreate | None = None


class ScreeningRead(ReadModel):
    candidate: CandidateRead
    evidence_version: int | None = None


class PrismaRead(ReadModel):
    """PRISMA 2020 flow counts of the living review's searches (Page et al. 2021, figure 1).

    ``identified`` = ``duplicates_removed`` + ``screened``; ``screened`` = ``awaiting`` +
    ``excluded`` + ``included``; ``excluded`` = the sum of ``excluded_by_reason``."""

    identified: int
    identified_by_source: dict[str, int]
    duplicates_removed: int
    screened: int
    awaiting: int
    maybe: int
    excluded: int
    excluded_by_reason: dict[str, int]
    included: int
    included_with_data: int
    ongoing: int
    studies_in_review: int
    runs: int


class OngoingTrialRead(ReadModel):
    candidate_id: int
    nct_id: str
    title: str
    registry_status: str | None
    completion_date: str | None
    outcomes: list[str]


class OngoingRead(ReadModel):
    outcome: str
    count: int
    statement: str | None = Field(
        description='The plain-language clause, e.g. "2 registered trials expected to report '
        'by 2027" (null when none).'
    )
    trials: list[OngoingTrialRead]
