"""What write routes share: who writes, and the shape of their responses."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from service.api.auth import Principal
from service.schemas.studies import StudyWriteRead
from service.usecases.operations.keys import Scope
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.writes import StudyWriteResult, study_etag, study_path


def write_context(principal: Principal, request: Request) -> WriteContext:
    """The use cases' view of the request's API key."""
    return WriteContext(
        actor=principal.name,
        request_id=getattr(request.state, "request_id", None),
        may_curate=principal.has(Scope.CURATE),
        trusted=principal.trusted,
        selections=request.app.state.pooled_cache.selections,
    )


def study_write_response(result: StudyWriteResult, *, created: bool = False) -> JSONResponse:
    """The study, its evidence version and the pooled changes, with the study's ETag (and
    Location when new)."""
    study = result.study
    body = StudyWriteRead(
        evidence_version=result.evidence_version,
        study=study,
        pooled_changes=list(result.pooled_changes),
    )
    headers = {"ETag": study_etag(study.id, study.valid_from)}
    if created:
        headers["Location"] = study_path(study.id)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=201 if created else 200, headers=headers
    )
