"""Answers as files: the CSV representations of pooled answers and study lists, and R scripts.

A representation other than JSON gets its own strong ETag (the answer's with a suffix), so a
cache never serves the CSV for the JSON; ``Vary: Accept`` because the Accept header chooses.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from sqlalchemy.orm import Session

from service.api.conditional import cache_control
from service.api.deps import run_and_finish
from service.schemas.exchange import PooledExportQuery
from service.settings import Settings
from service.usecases.analyses.cost import UNLIMITED, ComputeBudget
from service.usecases.exchange import answers as exports
from service.usecases.judgement.answers import Conditional
from service.usecases.pooled.cache import ResultCache, none_match

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


def varies(response: Response) -> Response:
    """``response`` with ``Vary: Accept`` (the Accept header chose its representation)."""
    response.headers["Vary"] = "Accept"
    return response


def file_response(
    answer: Conditional[Any],
    text: str,
    *,
    suffix: str,
    media_type: str,
    private: bool,
    if_none_match: str | None = None,
) -> Response:
    """``text`` with the answer's ETag (suffixed) and Cache-Control; 304 when the client's
    copy is current (the answer is computed or cached either way)."""
    etag = f'{answer.etag[:-1]}-{suffix}"'
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control(pinned=answer.pinned, private=private),
    }
    if none_match(if_none_match, etag):
        return varies(Response(status_code=304, headers=headers))
    return varies(Response(text, media_type=media_type, headers=headers))


async def pooled_csv_response(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: PooledExportQuery,
    settings: Settings,
    if_none_match: str | None,
    budget: ComputeBudget = UNLIMITED,
) -> Response:
    """``GET /v1/outcomes/{outcome}/pooled`` as CSV in ``query.dialect``."""
    answer, text = await run_and_finish(
        exports.pooled_answer_csv, session, cache, outcome, query, query.dialect, budget
    )
    return file_response(
        answer,
        text,
        suffix=f"{query.dialect}-csv",
        media_type=CSV_MEDIA_TYPE,
        private=settings.require_api_key_for_reads,
        if_none_match=if_none_match,
    )
