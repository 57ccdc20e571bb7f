"""Evidence versions: one per committed write."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from service.schemas.common import ReadModel

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
