"""No plot clips its text: every text element's box lies inside the figure (issue 26).

The forest footer used to run off the right edge of the figure (a long certainty statement,
the method line), and the funnel's legend off the right of the funnel. Measured with the
figure's own renderer, on the layout the SVG and PNG are written from.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from service.plots.data import Caption, ForestData, FunnelData, HistoryData
from service.plots.forest import forest_figure
from service.plots.funnel import funnel_figure
from service.plots.history import history_figure
from tests.plots import cases

LONG_CERTAINTY = (
    "Low (downgraded twice: risk of bias, imprecision). Peer support may increase "
    "empowerment slightly, but the evidence is uncertain and the interval includes no effect."
)


def _long_footer() -> ForestData:
    data = cases.grouped_forest()
    caption = Caption(data.caption.title, data.caption.evidence, certainty=LONG_CERTAINTY)
    return ForestData(
        caption, data.level, data.studies, data.pooled, data.prediction, data.stats,
        subgroups=data.subgroups,
        method="Method: random effects, tau² by REML, hksj CI; k = 6",
    )  # fmt: skip


def _with_methods() -> tuple[FunnelData, HistoryData]:
    funnel, history = cases.funnel(), cases.history()
    method = "Method: random effects, tau² by REML, hksj CI; k = 8"
    return (
        FunnelData(funnel.caption, funnel.studies, funnel.estimate, funnel.filled, method=method),
        HistoryData(history.caption, history.points, history.sequential,
                    method="Method: tau² by REML, hksj CI; k as at each version"),
    )  # fmt: skip


FIGURES: dict[str, Callable[[], Figure]] = {
    "funnel-with-method": lambda: funnel_figure(_with_methods()[0]),
    "history-with-method": lambda: history_figure(_with_methods()[1]),
    "forest-grouped": lambda: forest_figure(cases.grouped_forest()),
    "forest-long-footer": lambda: forest_figure(_long_footer()),
    "forest-narrative": lambda: forest_figure(cases.narrative_forest()),
    "funnel": lambda: funnel_figure(cases.funnel()),
    "history": lambda: history_figure(cases.history()),
}


def _undrawn_ticks(figure: Figure) -> set[int]:
    """The tick labels outside their axis' view limits: matplotlib keeps but never draws them."""
    skipped = set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if loc is None or not low - 1e-9 <= loc <= high + 1e-9:
                    skipped |= {id(tick.label1), id(tick.label2)}
    return skipped


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_text_lies_inside_the_figure(name: str) -> None:
    figure = FIGURES[name]()
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    outside = []
    undrawn = _undrawn_ticks(figure)
    for text in figure.findobj(Text):
        if id(text) in undrawn or not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5:
            outside.append((text.get_text(), [round(v) for v in box.extents], (width, height)))
    assert outside == []


def test_a_subgroup_of_one_study_says_study() -> None:
    data = cases.grouped_forest(k=3)  # one-to-one: studies 1 and 3; peer-group: study 2
    texts = [t.get_text() for t in forest_figure(data).findobj(Text)]
    assert "Subtotal (1 study)" in texts
    assert "Subtotal (2 studies)" in texts
    assert not any("1 studies" in t for t in texts)
