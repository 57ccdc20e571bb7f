"""Cursor-paginated lists."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import Field, StringConstraints

from service.schemas.common import ReadModel

T = TypeVar("T", bound=ReadModel)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200

CURSOR_PATTERN = r"^[A-Za-f][A-Za-z0-9_-]{4}[AQgw]$"
"""Every cursor, and nothing else: a position (an id, 0 to 2**31 - 1) as four big-endian
bytes in unpadded base64url (RFC 4648, section 5). Six characters carry 36 bits for the 32:
the first character holds the top bit, which is 0 below 2**31 (``A``-``Z``, ``a``-``f``
are the values 0-31), and the last holds two bits and four zero bits (``A``, ``Q``, ``g``,
``w``). A string the pattern matches names a position, so the spec promises no more than
the service keeps (schemathesis' positive-data-acceptance check)."""

Cursor = Annotated[str, StringConstraints(pattern=CURSOR_PATTERN)]
"""A page's ``next_cursor``, passed back unchanged; the list continues after its position
(before it, in lists that run newest first)."""


class Page(ReadModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")
