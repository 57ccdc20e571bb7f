"""Plots of pooled results: forest (SVG, PNG), funnel and history (SVG), conditional GETs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from service.api.auth import ReadAccessDep
from service.api.budget import ComputeBudgetDep
from service.api.conditional import NOT_MODIFIED, IfNoneMatch, ResultCacheDep, cache_control
from service.api.deps import SessionDep, SettingsDep, run_and_finish
from service.api.paths import Outcome
from service.api.summaries import summaries_from_docstrings
from service.plots.formats import ImageFormat
from service.schemas.common import problem_responses
from service.schemas.pooled import HistoryQuery, PooledQuery
from service.usecases.judgement import figures
from service.usecases.judgement.answers import Conditional

router = APIRouter(prefix="/v1", tags=["plots"])
PROBLEMS = {**NOT_MODIFIED, **problem_responses(401, 403, 404, 422)}


class SvgResponse(Response):
    media_type = ImageFormat.SVG.media_type


class PngResponse(Response):
    media_type = ImageFormat.PNG.media_type


def _image(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    # A PNG is bytes; an SVG is text (OpenAPI 3.1: "format: binary" marks octets).
    schema = {"type": "string", **({"format": "binary"} if media_type == "image/png" else {})}
    content = {media_type: {"schema": schema}}
    return {200: {"description": description, "content": content}, **PROBLEMS}


def _response(answer: Conditional[bytes], fmt: ImageFormat, *, private: bool) -> Response:
    headers = {
        "ETag": answer.etag,
        "Cache-Control": cache_control(pinned=answer.pinned, private=private),
    }
    if answer.body is None:
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type=fmt.media_type, headers=headers)


def _pooled_plot_route(kind: str, fmt: ImageFormat) -> Callable[..., Awaitable[Response]]:
    """The route of the ``kind`` plot in ``fmt``: the same parameters as the pooled answer."""

    async def route(
        outcome: Outcome,
        query: Annotated[PooledQuery, Query()],
        session: SessionDep,
        cache: ResultCacheDep,
        settings: SettingsDep,
        _: ReadAccessDep,
        budget: ComputeBudgetDep,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        answer = await run_and_finish(
            figures.pooled_figure, session, cache, outcome, query,
            kind=kind, fmt=fmt, if_none_match=if_none_match, budget=budget,
        )  # fmt: skip
        return _response(answer, fmt, private=settings.require_api_key_for_reads)

    return route


_POOLED_PLOTS = (
    ("forest", ImageFormat.SVG, "The forest plot of one outcome (studies only when narrative)"),
    ("forest", ImageFormat.PNG, "The forest plot of one outcome, as PNG"),
    ("funnel", ImageFormat.SVG, "The contour-enhanced funnel plot (trim-and-fill: sections)"),
    ("risk-of-bias", ImageFormat.SVG, "The robvis traffic-light plot of the pooled studies"),
    ("risk-of-bias", ImageFormat.PNG, "The robvis traffic-light plot, as PNG"),
    ("risk-of-bias-summary", ImageFormat.SVG, "The robvis weighted summary plot"),
    ("risk-of-bias-summary", ImageFormat.PNG, "The robvis weighted summary plot, as PNG"),
)
for _kind, _fmt, _summary in _POOLED_PLOTS:
    router.add_api_route(
        f"/outcomes/{{outcome}}/{_kind}.{_fmt}",
        _pooled_plot_route(_kind, _fmt),
        methods=["GET"],
        name=f"get_{_kind.replace('-', '_')}_{_fmt}",
        summary=_summary,
        response_class=SvgResponse if _fmt is ImageFormat.SVG else PngResponse,
        responses=_image(_fmt.media_type, f"The {_kind} plot as {_fmt.value.upper()}."),
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
    budget: ComputeBudgetDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The pooled estimate with its CI and PI after every version that changed the outcome."""
    answer = await run_and_finish(
        figures.history_figure, session, cache, outcome, query,
        fmt=ImageFormat.SVG, if_none_match=if_none_match, budget=budget,
    )  # fmt: skip
    return _response(answer, ImageFormat.SVG, private=settings.require_api_key_for_reads)


summaries_from_docstrings(router)
