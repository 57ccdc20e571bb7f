"""Imports: a Metapsy or metafor-style CSV file, checked row by row and stored in one version
(or, with ``batch_size``, in batches of one version each, resumable with ``resume_from``).

The file is the body (``text/csv``), or, to send an instrument map with it (the CLI's
``--map``), a ``multipart/form-data`` body with the parts ``file`` and ``map``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.api.auth import CuratePrincipalDep
from service.api.deps import DatabaseDep, SettingsDep, WriteSessionDep, run_and_finish
from service.api.summaries import summaries_from_docstrings
from service.api.writes import write_context
from service.errors import InvalidInputError, UnsupportedMediaTypeError
from service.schemas.common import problem_responses
from service.schemas.exchange import ImportQuery, ImportReportRead
from service.usecases.exchange.batches import import_in_batches
from service.usecases.exchange.importer import (
    ImportOptions,
    ImportReport,
    import_file,
    instrument_map,
)

router = APIRouter(prefix="/v1", tags=["imports"])
CSV_TYPES = ("text/csv", "text/plain", "application/csv")
MULTIPART = "multipart/form-data"
MAP_EXAMPLE = '{"Some Local Empowerment Scale": "empowerment-scale"}'
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The file itself (UTF-8): Metapsy data standard or metafor-style CSV; or, with an "
            "instrument map, multipart/form-data with the parts file and map."
        ),
        "content": {
            # The file's bytes, as uploaded (a generated client sends a file).
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    # Any other part is refused (422 naming it): the spec says so.
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The file (UTF-8), as the text/csv body would be.",
                        },
                        "map": {
                            "type": "string",
                            "description": (
                                "JSON: instrument names of a Metapsy file that the "
                                "vocabulary does not know, each with its instrument slug."
                            ),
                            "example": MAP_EXAMPLE,
                        },
                    },
                }
            },
        },
    }
}


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _text(media_type: str, body: bytes, *, field_name: str = "body") -> str:
    if media_type not in CSV_TYPES:
        raise UnsupportedMediaTypeError(
            f"Send the file as text/csv (or {MULTIPART} with the parts file and map), "
            f"not {media_type or 'no Content-Type'}.",
            extra={"errors": [{"field": "Content-Type", "message": "must be text/csv"}]},
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            f"The {field_name} is not UTF-8 (byte {error.start}); save it as UTF-8 and send "
            "it again.",
            errors=[{"field": field_name, "message": "not UTF-8", "type": "value_error"}],
        ) from error


async def _part(value: UploadFile | str | None, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _text("text/csv", await value.read(), field_name=name)


async def _upload(request: Request) -> tuple[str, dict[str, str]]:
    """The file's text and the instrument map sent with it (none in a text/csv body)."""
    media_type = _media_type(request.headers.get("content-type"))
    if media_type != MULTIPART:
        return _text(media_type, await request.body()), {}
    async with request.form() as form:
        unknown = sorted(set(form) - {"file", "map"})
        text = await _part(form.get("file"), "file")
        mapping = await _part(form.get("map"), "map")
    if text is None or unknown:
        raise InvalidInputError(
            f"A {MULTIPART} import has the parts file (the CSV file) and, optionally, map; "
            f"{'file is missing' if text is None else 'unknown: ' + ', '.join(unknown)}.",
            errors=[{"field": "file" if text is None else unknown[0], "message": "see detail"}],
        )
    return text, {} if mapping is None else instrument_map(mapping)


def report_read(report: ImportReport) -> ImportReportRead:
    """The report as the API shows it."""
    return ImportReportRead.model_validate(report, from_attributes=True)


@router.post(
    "/imports",
    response_model=ImportReportRead,
    responses={201: {"model": ImportReportRead}, **problem_responses(401, 403, 415, 422)},
    openapi_extra=CSV_BODY,
)
async def create_import(
    query: Annotated[ImportQuery, Query()],
    request: Request,
    session: WriteSessionDep,
    database: DatabaseDep,
    principal: CuratePrincipalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Import a Metapsy or CSV file (dry_run=true: only the row-by-row report)."""
    text, mapping = await _upload(request)
    options = ImportOptions(
        format=query.format,
        dry_run=query.dry_run,
        rob_quality=settings.metapsy_rob_quality,
        instrument_map=mapping,
        batch_size=query.batch_size,
        resume_from=query.resume_from,
    )
    context = write_context(principal, request)
    if options.batch_size is None:
        report = await run_and_finish(import_file, session, text, options, context)
    else:  # a transaction per batch, not the request's one
        report = await run_in_threadpool(import_in_batches, database, text, options, context)
    body = report_read(report).model_dump(mode="json")
    if report.evidence_version is None:
        return JSONResponse(body)
    location = f"/v1/versions/{report.evidence_version}"
    return JSONResponse(body, status_code=201, headers={"Location": location})


summaries_from_docstrings(router)
