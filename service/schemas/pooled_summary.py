"""The headline numbers of a pooled result, shared by tables, histories and write responses.

Kept apart from :mod:`service.schemas.pooled` so that the study schemas can name them
without importing the pooled-results query models (which build on the study schemas).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.schemas.common import ReadModel

PooledStatus = Literal["pooled", "insufficient_evidence"]


class PooledSummaryRead(ReadModel):
    """The headline numbers of a pooled result (nulls when it is a narrative synthesis)."""

    status: PooledStatus
    k: int
    participants: int
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    pi_lower: float | None
    pi_upper: float | None
    tau2: float | None
    i2: float | None


class OngoingCountRead(ReadModel):
    """Registered trials of the outcome still to report (issue 28), as ``GET
    /v1/outcomes/{outcome}/ongoing`` lists them now."""

    count: int = Field(description="How many (at least 1: null stands for none).")
    expected_by: int | None = Field(
        description="The latest expected completion year among them (null: none gives one)."
    )
    sentence: str = Field(
        description="The sentence added to statement.plain_language, e.g. "
        '"2 registered trials are expected to report by 2027."'
    )
    href: str = Field(description="The list of the trials.")


ONGOING_DESCRIPTION = (
    "Registered trials still to report, as of the newest version (issue 28). Null when there "
    "are none, and always in an answer pinned with as_of: registrations are no evidence "
    "version, and a pinned answer never changes."
)


class PooledSnapshotRead(PooledSummaryRead):
    """A default-specification result at one version."""

    evidence_version: int


class PooledChangeRead(ReadModel):
    """What a write did to one outcome's default-specification pooled result."""

    outcome: str
    before: PooledSnapshotRead
    after: PooledSnapshotRead
    counted: bool = Field(
        default=True,
        description="False when the write's studies wait as pending: 'after' is then what "
        "including them would give (a preview), not the pooled result at the new version.",
    )
