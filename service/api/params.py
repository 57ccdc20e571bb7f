"""Path and query parameters shared by several routers, bounded like the columns they query."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from service.schemas.common import MAX_ID

StudyId = Annotated[int, Path(ge=1, le=MAX_ID, description="The study's id.")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="An evidence version number.")]
