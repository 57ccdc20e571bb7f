"""How many studies are in each status: public, even where the studies themselves are not."""

from __future__ import annotations

from pydantic import Field

from service.schemas.common import ReadModel


class StudyCountsRead(ReadModel):
    """Current studies per status, at the newest evidence version."""

    evidence_version: int
    pending: int = Field(ge=0)
    included: int = Field(ge=0)
    excluded: int = Field(ge=0)
    withdrawn: int = Field(ge=0)
