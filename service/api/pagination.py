"""Opaque cursors and ``Link: rel="next"`` headers for paginated lists."""

from __future__ import annotations

import base64
import binascii

from fastapi import Request, Response

from service.errors import InvalidInputError
from service.schemas.common import MAX_ID


def encode_cursor(position: int) -> str:
    """The cursor that continues a list after (or before) ``position``."""
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The position a cursor names; 422 for anything this service did not hand out."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.isdigit() and 0 < int(text) <= MAX_ID:
            return int(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInputError(
        "The cursor is not one this list handed out.",
        errors=[{"field": "cursor", "message": "invalid cursor", "type": "value_error"}],
    )


def next_page(request: Request, response: Response, position: int | None) -> str | None:
    """The next page's cursor, also announced as ``Link: <url>; rel="next"``."""
    if position is None:
        return None
    cursor = encode_cursor(position)
    url = request.url.include_query_params(cursor=cursor)
    response.headers["Link"] = f'<{url}>; rel="next"'
    return cursor
