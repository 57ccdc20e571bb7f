"""``GET /metrics``: Prometheus' text format, for a key with the ``admin`` scope."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.auth import AdminPrincipalDep
from service.api.deps import DatabaseDep, SessionDep
from service.schemas.common import problem_responses
from service.usecases.operations.metrics import exposition

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(401, 403),
    },
)
def metrics(database: DatabaseDep, session: SessionDep, _: AdminPrincipalDep) -> Response:
    """The service's Prometheus metrics (README "Operating it"); needs the admin scope."""
    body = exposition(database, session)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
