"""Plots of pooled results: forest (SVG, PNG), funnel and history (SVG), conditional GETs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from service.api.auth import ReadAccessDep
from service.api.conditional import NOT_MODIFIED, IfNoneMatch, ResultCacheDep, cache_control
from service.api.deps import SessionDep, SettingsDep, run_and_finish
from service.api.routes.pooled import Outcome
from service.api.summaries import summaries_from_docstrings
from service.plots.render import ImageFormat
from service.schemas.common import problem_responses
from service.schemas.pooled import HistoryQuery, PooledQuery
from service.usecases.pooled import figures
from service.usecases.pooled.answers import Conditional

router = APIRouter(prefix="/v1", tags=["plots"])
PROBLEMS = {**NOT_MODIFIED, **problem_responses(401, 403, 404, 422)}


class SvgResponse(Response):
    media_type = ImageFormat.SVG.media_type


class PngResponse(Response):
    media_type = ImageFormat.PNG.media_type


def _image(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    content = {media_type: {"schema": {"type": "string"}}}
    return {200: {"description": description, "content": content}, **PROBLEMS}


def _response(answer: Conditional[bytes], fmt: ImageFormat, *, private: bool) -> Response:
    headers = {
        "ETag": answer.etag,
        "Cache-Control": cache_control(pinned=answer.pinned, private=private),
    }
    if answer.body is None:
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type=fmt.media_type, headers=headers)


async def _pooled_plot(
    kind: str, fmt: ImageFormat, outcome: str, query: PooledQuery, session: Any, cache: Any,
    private: bool, if_none_match: str | None,
) -> Response:  # fmt: skip
    answer = await run_and_finish(
        figures.pooled_figure, session, cache, outcome, query,
        kind=kind, fmt=fmt, if_none_match=if_none_match,
    )  # fmt: skip
    return _response(answer, fmt, private=private)


@router.get(
    "/outcomes/{outcome}/forest.svg",
    response_class=SvgResponse,
    responses=_image("image/svg+xml", "The forest plot, SVG with a title and description."),
)
async def get_forest_svg(
    outcome: Outcome,
    query: Annotated[PooledQuery, Query()],
    session: SessionDep,
    cache: ResultCacheDep,
    settings: SettingsDep,
    _: ReadAccessDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The forest plot of one outcome's pooled result (studies only when narrative)."""
    private = settings.require_api_key_for_reads
    return await _pooled_plot(
        "forest", ImageFormat.SVG, outcome, query, session, cache, private, if_none_match
    )


@router.get(
    "/outcomes/{outcome}/forest.png",
    response_class=PngResponse,
    responses=_image("image/png", "The forest plot as a PNG image."),
)
async def get_forest_png(
    outcome: Outcome,
    query: Annotated[PooledQuery, Query()],
    session: SessionDep,
    cache: ResultCacheDep,
    settings: SettingsDep,
    _: ReadAccessDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The forest plot of one outcome's pooled result, as PNG."""
    private = settings.require_api_key_for_reads
    return await _pooled_plot(
        "forest", ImageFormat.PNG, outcome, query, session, cache, private, if_none_match
    )


@router.get(
    "/outcomes/{outcome}/funnel.svg",
    response_class=SvgResponse,
    responses=_image("image/svg+xml", "The contour-enhanced funnel plot, SVG."),
)
async def get_funnel_svg(
    outcome: Outcome,
    query: Annotated[PooledQuery, Query()],
    session: SessionDep,
    cache: ResultCacheDep,
    settings: SettingsDep,
    _: ReadAccessDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The contour-enhanced funnel plot (trim-and-fill's studies with sections=trim_and_fill)."""
    private = settings.require_api_key_for_reads
    return await _pooled_plot(
        "funnel", ImageFormat.SVG, outcome, query, session, cache, private, if_none_match
    )


@router.get(
    "/outcomes/{outcome}/history.svg",
    response_class=SvgResponse,
    responses=_image("image/svg+xml", "The pooled estimate after every version, SVG."),
)
async def get_history_svg(
    outcome: Outcome,
    query: Annotated[HistoryQuery, Query()],
    session: SessionDep,
    cache: ResultCacheDep,
    settings: SettingsDep,
    _: ReadAccessDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The pooled estimate with its CI and PI after every version that changed the outcome."""
    answer = await run_and_finish(
        figures.history_figure, session, cache, outcome, query,
        fmt=ImageFormat.SVG, if_none_match=if_none_match,
    )  # fmt: skip
    return _response(answer, ImageFormat.SVG, private=settings.require_api_key_for_reads)


summaries_from_docstrings(router)
