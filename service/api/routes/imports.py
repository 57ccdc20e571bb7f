"""Imports: a Metapsy or metafor-style CSV file, checked row by row and stored in one version."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from service.api.auth import CuratePrincipalDep
from service.api.deps import SettingsDep, WriteSessionDep, run_and_finish
from service.api.summaries import summaries_from_docstrings
from service.api.writes import write_context
from service.errors import InvalidInputError, UnsupportedMediaTypeError
from service.schemas.common import problem_responses
from service.schemas.exchange import ImportQuery, ImportReportRead
from service.usecases.exchange.importer import ImportOptions, ImportReport, import_file

router = APIRouter(prefix="/v1", tags=["imports"])
CSV_TYPES = ("text/csv", "text/plain", "application/csv")
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file itself (UTF-8): Metapsy data standard or metafor-style CSV.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def _text(content_type: str | None, body: bytes) -> str:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in CSV_TYPES:
        raise UnsupportedMediaTypeError(
            f"Send the file as text/csv, not {media_type or 'no Content-Type'}.",
            extra={"errors": [{"field": "Content-Type", "message": "must be text/csv"}]},
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            f"The file is not UTF-8 (byte {error.start}); save it as UTF-8 and send it again.",
            errors=[{"field": "body", "message": "not UTF-8", "type": "value_error"}],
        ) from error


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
    principal: CuratePrincipalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Import a Metapsy or CSV file (dry_run=true: only the row-by-row report)."""
    text = _text(request.headers.get("content-type"), await request.body())
    options = ImportOptions(
        format=query.format, dry_run=query.dry_run, rob_quality=settings.metapsy_rob_quality
    )
    context = write_context(principal, request)
    report = await run_and_finish(import_file, session, text, options, context)
    body = report_read(report).model_dump(mode="json")
    if report.evidence_version is None:
        return JSONResponse(body)
    location = f"/v1/versions/{report.evidence_version}"
    return JSONResponse(body, status_code=201, headers={"Location": location})


summaries_from_docstrings(router)
