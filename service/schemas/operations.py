"""Operations: the conclusions worker's lag and failures."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from service.schemas.common import ReadModel


class ConclusionsLagRead(ReadModel):
    """How far the conclusions worker is behind the writes."""

    waiting: int = Field(description="Committed versions not concluded yet.")
    failing: int = Field(description="Of those, versions whose last attempt failed.")
    lag_seconds: float = Field(description="Age of the oldest waiting version; 0 when none.")
    newest_concluded_version: int | None


class ConclusionFailureRead(ReadModel):
    """A version whose conclusion failed; it is retried with backoff."""

    evidence_version: int
    outcomes: list[str]
    attempts: int
    last_error: str | None
    retry_at: datetime | None


class ConclusionsRead(ReadModel):
    """``GET /v1/operations/conclusions``."""

    lag: ConclusionsLagRead
    failures: list[ConclusionFailureRead]
