"""The compact view of a pooled result (``view=summary``): the headline, no study list.

For apps that show one line per outcome: at 10,000 studies the full answer is about 3 MB,
this one a few hundred bytes. Every field but ``outcome_name`` and ``evidence_created_at``
is the field of the same name in the full answer (or in its ``result``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from service.schemas.pooled_summary import (
    ONGOING_DESCRIPTION,
    OngoingCountRead,
    PooledSummaryRead,
)

PooledView = Literal["full", "summary"]


class PooledHeadlineRead(PooledSummaryRead):
    """The headline of one outcome's pooled result (nulls when it is a narrative synthesis)."""

    outcome: str
    outcome_name: str
    p_value: float | None
    evidence_version: int = Field(description="The last version that changed this evidence.")
    evidence_created_at: datetime | None = Field(description="When; null for version 0.")
    engine_version: str
    canonical: str = Field(description="The specification in canonical form, as in `spec`.")
    ongoing: OngoingCountRead | None = Field(default=None, description=ONGOING_DESCRIPTION)
