"""Evidence versions: one per committed write."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from service.schemas.common import ReadModel
from service.schemas.pooled_summary import PooledChangeRead

VersionKind = Literal[
    "create", "batch", "update", "include", "exclude", "withdraw", "judgement", "extraction"
]
ChangeAction = Literal["create", "update", "include", "exclude", "withdraw"]


class EvidenceVersionRead(ReadModel):
    """One committed write to the evidence."""

    number: int
    created_at: datetime
    actor: str = Field(description="The name of the API key that wrote it.")
    kind: VersionKind
    summary: str
    study_ids: list[int] = Field(description="The studies this version changed.")
    outcomes: list[str] = Field(
        description="The outcomes the changed studies report, before or after the change."
    )


class StudyChangeRead(ReadModel):
    study_id: int
    action: ChangeAction
    changed_fields: list[str] = Field(description="Top-level study fields that changed.")


class EvidenceVersionDetail(EvidenceVersionRead):
    """A version with what it changed, study by study."""

    changes: list[StudyChangeRead]


class VersionChangesRead(ReadModel):
    """What one version did to the pooled results of the outcomes it touched."""

    evidence_version: int
    outcomes: list[str] = Field(description="The outcomes the version touched.")
    pooled_changes: list[PooledChangeRead] = Field(
        description="Per outcome, the default-specification pooled result at the version "
        "before and at this one (computed on demand when the worker has not yet)."
    )
    concluded: bool = Field(
        description="Whether the conclusions worker has concluded the version (its "
        "pooled.changed and conclusion.changed events are then in the feed)."
    )
