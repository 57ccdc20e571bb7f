"""What write routes share: who writes, and the shape of their responses.

A write records (the ledger and the conclusions outbox) and answers; its pooled changes are
the conclusions worker's, linked from the answer (``changes`` and a ``Link`` header), or
computed inline in the write's transaction for a caller who asks with
``?include=pooled_changes``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from service.api.auth import Principal
from service.schemas.pooled_summary import PooledChangeRead
from service.schemas.studies import StudyWriteRead
from service.usecases.operations.keys import Scope
from service.usecases.pooled.changes import pooled_changes
from service.usecases.pooled.effects import SelectionMemo
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.writes import StudyWriteResult, study_etag, study_path

Include = Annotated[
    Literal["pooled_changes"] | None,
    Query(
        description="pooled_changes: compute the write's pooled changes before answering "
        "(otherwise they are linked: GET /v1/versions/{n}/changes)."
    ),
]


def write_context(principal: Principal, request: Request) -> WriteContext:
    """The use cases' view of the request's API key."""
    return WriteContext(
        actor=principal.name,
        request_id=getattr(request.state, "request_id", None),
        may_curate=principal.has(Scope.CURATE),
        trusted=principal.trusted,
    )


def selections(request: Request) -> SelectionMemo:
    """The process's memo of selected effects (shared with the conclusions worker)."""
    memo: SelectionMemo = request.app.state.pooled_cache.selections
    return memo


def changes_path(version: int) -> str:
    """Where a version's pooled changes are served."""
    return f"/v1/versions/{version}/changes"


def preview_path(study_id: int) -> str:
    """Where a pending study's what-if (as if included) is served."""
    return f"/v1/studies/{study_id}/preview"


def with_pooled_changes(
    session: Session, result: StudyWriteResult, memo: SelectionMemo
) -> StudyWriteResult:
    """``result`` with its pooled changes, computed in the write's transaction."""
    if not result.changed:
        return replace(result, pooled_changes=())
    changes = pooled_changes(
        session, result.outcomes, version=result.evidence_version, selections=memo
    )
    return replace(result, pooled_changes=tuple(changes))


def changes_link(version: int) -> str:
    """The ``Link`` header value naming a version's pooled changes."""
    return f'<{changes_path(version)}>; rel="pooled-changes"'


def _changes_field(result: StudyWriteResult) -> list[PooledChangeRead] | None:
    if not result.changed:
        return []  # nothing was written: nothing changed, known without computing
    return None if result.pooled_changes is None else list(result.pooled_changes)


def study_write_response(result: StudyWriteResult, *, created: bool = False) -> JSONResponse:
    """The study, its evidence version and the link to its pooled changes (or the changes),
    with the study's ETag (and Location when new)."""
    study = result.study
    pending = study.status == "pending" and result.changed
    body = StudyWriteRead(
        evidence_version=result.evidence_version,
        study=study,
        pooled_changes=_changes_field(result),
        changes=changes_path(result.evidence_version),
        preview=preview_path(study.id) if pending else None,
    )
    headers = {"ETag": study_etag(study.id, study.valid_from)}
    links = [changes_link(result.evidence_version)]
    if pending:
        links.append(f'<{preview_path(study.id)}>; rel="preview"')
    headers["Link"] = ", ".join(links)
    if created:
        headers["Location"] = study_path(study.id)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=201 if created else 200, headers=headers
    )
