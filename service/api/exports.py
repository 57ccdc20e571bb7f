"""Answers as files: the CSV representations of pooled answers and study lists, and R scripts.

A representation other than JSON gets its own strong ETag (the answer's with a suffix), so a
cache never serves the CSV for the JSON; ``Vary: Accept`` because the Accept header chooses.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from service.api.conditional import cache_control
from service.usecases.pooled.answers import Conditional

CSV_MEDIA_TYPE = "text/csv; charset=utf-8; header=present"
R_MEDIA_TYPE = "text/x-r-source; charset=utf-8"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


def wants_csv(format_name: str | None, accept: str | None) -> bool:
    """``format`` decides; else whichever of text/csv and JSON the Accept header lists first."""
    if format_name is not None:
        return format_name == "csv"
    for item in (accept or "").split(","):
        media_type = item.split(";")[0].strip().lower()
        if media_type == "text/csv":
            return True
        if media_type == "application/json":
            return False
    return False


def file_response(
    answer: Conditional[Any], text: str, *, suffix: str, media_type: str, private: bool
) -> Response:
    """``text`` with the answer's ETag (suffixed), its Cache-Control and ``Vary: Accept``."""
    headers = {
        "ETag": f'{answer.etag[:-1]}-{suffix}"',
        "Cache-Control": cache_control(pinned=answer.pinned, private=private),
        "Vary": "Accept",
    }
    return Response(text, media_type=media_type, headers=headers)
