"""Imports (``POST /v1/imports``) and exports (CSV and R) of studies and pooled answers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.schemas.common import ReadModel, RequestModel
from service.schemas.pooled import PooledQuery
from service.schemas.studies import StudyListQuery

ImportFormatName = Literal["metapsy", "csv"]
MAX_IMPORT_BATCH = 10_000
ExportFormatName = Literal["json", "csv"]
CsvDialect = Literal["metafor", "metapsy"]


class ImportQuery(RequestModel):
    """What the body is, and whether to store it or only check it."""

    format: ImportFormatName = Field(description="metapsy (Metapsy data standard) or csv.")
    dry_run: bool = Field(default=False, description="Check and report only; write nothing.")
    batch_size: int | None = Field(
        default=None,
        ge=1,
        le=MAX_IMPORT_BATCH,
        description=(
            "Store this many studies per transaction, each batch its own evidence version; "
            "a batch with a problem stops the import (422 with resume_from). "
            "Default: the whole file in one transaction."
        ),
    )
    resume_from: int | None = Field(
        default=None,
        ge=2,
        description=(
            "Leave out the studies that begin before this row (a previous import stored "
            "them): the resume_from of a stopped batched import."
        ),
    )


class RowProblemRead(ReadModel):
    """One problem of the file, where it is, and how to fix it."""

    row: int | None = Field(description="The row as a spreadsheet numbers it (header = 1).")
    column: str | None
    value: str | None = Field(description="The cell as it is in the file.")
    problem: str
    suggestion: str


class MatchedStudyRead(ReadModel):
    """A study of the file that is stored already, and how it was recognised."""

    source_study_id: str
    study_id: int
    matched_by: Literal["registration_id", "doi", "source_study_id", "near_duplicate"] = Field(
        description="near_duplicate: same first author, year +/- 1, a similar title and the "
        "same arm sizes (see POST /v1/studies' 409 possible-duplicate)."
    )


class ImportReportRead(ReadModel):
    """What the file holds and what the import did (or, in a dry run, would do)."""

    format: ImportFormatName
    dry_run: bool
    rows: int = Field(description="Data rows read.")
    studies: int = Field(description="Studies of the review's outcomes found in the file.")
    results: int
    new_studies: int = Field(description="Studies stored (dry run: that would be stored).")
    new_results: int
    matched: list[MatchedStudyRead] = Field(description="Studies already stored: not added.")
    skipped: dict[str, int] = Field(description="Rows skipped, counted by reason.")
    problems: list[RowProblemRead]
    evidence_version: int | None = Field(description="The (last) version written; null if none.")
    created_study_ids: list[int]
    evidence_versions: list[int] = Field(description="Every version written, one per batch.")
    resume_from: int | None = Field(
        description="The row to resume from (resume_from=); null when the whole file is stored."
    )


class PooledExportQuery(PooledQuery):
    """A pooled answer's options, and its representation."""

    format: ExportFormatName | None = Field(
        default=None, description="csv: one row per study used (also by Accept: text/csv)."
    )
    dialect: CsvDialect = Field(
        default="metafor", description="CSV columns and number format: metafor or metapsy."
    )


class StudyListExportQuery(StudyListQuery):
    """The study list's filters, and its representation."""

    format: ExportFormatName | None = Field(
        default=None,
        description="csv: every matching study, one row per result (also by Accept: text/csv).",
    )
    dialect: CsvDialect = "metafor"
