"""Opaque cursors and ``Link: rel="next"`` headers for paginated lists.

A cursor is a position (an id) as four big-endian bytes in unpadded base64url, six
characters that :data:`service.schemas.pagination.CURSOR_PATTERN` describes exactly: every
string of that form decodes to a position from 0 to 2**31 - 1, so the spec's pattern and
this decoder agree (issue 25). A cursor is not signed: any position is a fair question ("the
studies after id 41" answers what a page boundary there would), and a list that runs
newest first answers an empty page before position 0.
"""

from __future__ import annotations

import base64
import re

from fastapi import Request, Response

from service.errors import InvalidInputError
from service.schemas.pagination import CURSOR_PATTERN

_CURSOR = re.compile(CURSOR_PATTERN)
_POSITION_BYTES = 4


def encode_cursor(position: int) -> str:
    """The cursor that continues a list after (or before) ``position``."""
    raw = position.to_bytes(_POSITION_BYTES, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, field: str = "cursor") -> int | None:
    """The position a cursor names; 422 naming ``field`` for a string of another form.

    The routes declare the pattern, so a request reaches here only with a well-formed
    cursor; the check stays for callers that do not."""
    if cursor is None:
        return None
    if not _CURSOR.fullmatch(cursor):
        raise InvalidInputError(
            "The cursor is not one this list hands out: pass a page's next_cursor unchanged.",
            errors=[{"field": field, "message": "invalid cursor", "type": "value_error"}],
        )
    return int.from_bytes(base64.urlsafe_b64decode(cursor + "=="), "big")


def next_page(request: Request, response: Response, position: int | None) -> str | None:
    """The next page's cursor, also announced as ``Link: <url>; rel="next"``."""
    if position is None:
        return None
    cursor = encode_cursor(position)
    url = request.url.include_query_params(cursor=cursor)
    response.headers["Link"] = f'<{url}>; rel="next"'
    return cursor
