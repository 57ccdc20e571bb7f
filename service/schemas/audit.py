"""The audit trail, for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from service.schemas.common import ReadModel


class AuditEntryRead(ReadModel):
    """One write to one resource, with its state before and after."""

    id: int
    evidence_version: int
    created_at: datetime
    actor: str
    action: str = Field(examples=["create", "update", "include", "exclude", "withdraw"])
    resource_type: str = Field(examples=["study"])
    resource_id: int
    request_id: str | None
    before: dict[str, Any] | None = Field(description="The resource as the API showed it before.")
    after: dict[str, Any] | None
