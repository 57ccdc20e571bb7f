"""Cursor-paginated lists."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import Field

from service.schemas.common import ReadModel

T = TypeVar("T", bound=ReadModel)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(ReadModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")
