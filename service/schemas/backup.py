"""The backup document: the whole evidence base with its history, as JSON.

Rows are written with their own ids and version ranges, so an import reproduces the database
exactly; the vocabulary is referred to by slug only (the migrations seed it), so a backup does
not depend on how a database numbers anything. API keys appear as metadata only (see
:mod:`service.usecases.operations.backup`); idempotency records, which expire within days,
are left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT: Final = "lma-evidence-backup"
FORMAT_VERSION: Final = 1


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True, frozen=True)


class ChangeRow(_Row):
    study_id: int
    action: str
    changed_fields: list[str]


class VersionRow(_Row):
    number: int = Field(ge=1)
    created_at: datetime
    actor: str
    kind: str
    summary: str
    request_id: str | None
    changes: list[ChangeRow]
    outcomes: list[str] = Field(description="Slugs of the outcomes the version touched.")


class ArmRow(_Row):
    id: int
    position: int
    label: str
    role: str
    n_randomized: int


class OutcomeResultRow(_Row):
    id: int
    position: int
    outcome_slug: str
    instrument_slug: str
    timepoint_weeks: float
    timepoint_label: str
    intervention_arm_id: int
    control_arm_id: int
    form: str
    reported: dict[str, Any]
    icc: float | None
    mean_cluster_size: float | None
    source_location: str | None
    yi: float
    vi: float
    sign_flipped: bool
    conversion: str
    engine_version: str
    # Added by revision 0012; defaults let backups written before it load unchanged.
    reported_accounts_for_clustering: bool | None = None
    estimated: bool = False
    data_warnings: list[dict[str, str]] = Field(default_factory=list)
    risk_of_bias: dict[str, Any] | None = None  # added by revision 0022


class RevisionRow(_Row):
    id: int
    valid_from: int
    valid_to: int | None
    title: str
    authors: str
    year: int
    doi: str | None
    pmid: str | None
    registration_id: str | None
    country: str | None
    design_slug: str
    category_slug: str
    intervention_name: str
    intervention_description: str | None
    comparator_slug: str
    comparator_description: str | None
    population: str
    setting: str | None
    total_randomized: int
    quality_rating_slug: str
    quality_appraisal: str | None
    extracted_by: str
    source_document: str | None
    source_location: str | None
    tags: list[str]
    status: str
    status_reason: str | None
    arms: list[ArmRow]
    outcome_results: list[OutcomeResultRow]


class StudyRow(_Row):
    id: int
    created_at: datetime
    created_version: int
    revisions: list[RevisionRow] = Field(description="Oldest first.")


class AuditRow(_Row):
    id: int
    version_number: int
    created_at: datetime
    actor: str
    action: str
    resource_type: str
    resource_id: int
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class JudgementRow(_Row):
    """A curator's certainty judgement (issue 16), with its version range."""

    id: int
    outcome_slug: str
    category_slug: str | None
    domain: str
    downgrade: int
    reason: str
    actor: str
    created_at: datetime
    valid_from: int
    valid_to: int | None


class ExtractionRow(_Row):
    """A second extraction of a study (issue 27)."""

    id: int
    study_id: int
    version_number: int
    compared_with_version: int
    first_actor: str
    actor: str
    created_at: datetime
    body: dict[str, Any]
    compared_fields: int
    differing_fields: int
    rob_pairs: list[list[str]]


class DiscrepancyRow(_Row):
    """A field on which two extractions differ, and its resolution (issue 27)."""

    id: int
    extraction_id: int
    study_id: int
    field: str
    kind: str
    first_value: Any
    second_value: Any
    status: str
    resolution: str | None
    resolved_value: Any
    resolved_by: str | None
    reason: str | None
    resolved_version: int | None


class ApiKeyRow(_Row):
    """Who the actors were; never the key's secret or its hash."""

    name: str
    public_id: str
    scopes: list[str]
    trusted: bool
    created_at: datetime
    revoked_at: datetime | None


class SourceKeyRow(_Row):
    """An imported study's id in its source (Metapsy, CSV), so a re-import still matches it."""

    source: str
    source_study_id: str
    study_id: int


class SearchRunRow(_Row):
    """A search run of an update bot (issue 28): the PRISMA counts start here."""

    id: int
    source: str
    query: str
    window_start: datetime | None
    window_end: datetime
    status: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    found: int
    new: int
    duplicates: int
    note: str | None


class CandidateRow(_Row):
    """A record a search run found, with the curator's decision."""

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
    decision: str
    exclusion_reason: str | None
    duplicate_of_study_id: int | None
    study_id: int | None
    note: str | None
    found_at: datetime
    screened_by: str | None
    screened_at: datetime | None


class EvidenceBackup(_Row):
    """Everything needed to rebuild the evidence store, as of ``head_version``."""

    format: Literal["lma-evidence-backup"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    schema_revision: str | None
    exported_at: datetime
    head_version: int = Field(ge=0)
    versions: list[VersionRow]
    studies: list[StudyRow]
    audit_entries: list[AuditRow]
    judgements: list[JudgementRow] = Field(
        default_factory=list, description="Certainty judgements (absent in older backups)."
    )
    api_keys: list[ApiKeyRow] = Field(
        description="Metadata of the keys that wrote; informational, not restored."
    )
    source_keys: list[SourceKeyRow] = Field(
        default_factory=list, description="Imported studies' ids in their sources."
    )
    extractions: list[ExtractionRow] = Field(
        default_factory=list, description="Second extractions (absent in older backups)."
    )
    discrepancies: list[DiscrepancyRow] = Field(
        default_factory=list, description="Their discrepancies and resolutions."
    )
    search_runs: list[SearchRunRow] = Field(
        default_factory=list, description="Update bots' search runs (absent in older backups)."
    )
    candidates: list[CandidateRow] = Field(
        default_factory=list, description="What the searches found and how it was screened."
    )
