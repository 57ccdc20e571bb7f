"""``GET /metrics``: Prometheus' text format, for a key with the ``admin`` scope."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.auth import AdminPrincipalDep
from service.api.deps import SessionDep, SettingsDep
from service.metrics import MULTIPROCESS
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
def metrics(settings: SettingsDep, session: SessionDep, _: AdminPrincipalDep) -> Response:
    """The service's Prometheus metrics (README "Operating it"); needs the admin scope."""
    # Every worker's metrics when prometheus-client keeps them in files, this process's else.
    directory = settings.prometheus_multiproc_dir if MULTIPROCESS else None
    body = exposition(session, directory)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
