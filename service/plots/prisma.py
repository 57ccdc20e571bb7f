"""The PRISMA 2020 flow diagram of the living review's searches, as SVG or PNG.

The boxes of the "identification of new studies via databases and registers" column of the
PRISMA 2020 flow diagram for updated reviews (Page et al. 2021, BMJ 372:n71, figure 1;
templates at https://www.prisma-statement.org/prisma-2020-flow-diagram): records identified
(by source), duplicates removed, records screened, records excluded (by reason), awaiting
screening, reports included, and the studies in the review. Drawn with matplotlib's
object-oriented API on a figure of its own (:mod:`.render`); the counts come in a plain
dataclass (:class:`.data.PrismaData`), so this module knows nothing of storage.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from matplotlib.axes import Axes

from service.plots.data import PrismaData
from service.plots.formats import ImageFormat
from service.plots.render import figure_bytes, new_figure

TITLE = "PRISMA 2020 flow diagram (living review searches)"


def _box(axes: Axes, x: float, y: float, text: str) -> None:
    axes.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        wrap=True,
        bbox={"boxstyle": "square,pad=0.6", "facecolor": "white", "edgecolor": "black"},
    )


def _arrow(axes: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    axes.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "black"})


def _lines(title: str, total: int, parts: Mapping[str, int]) -> str:
    details = "".join(f"\n  {name} (n = {count})" for name, count in parts.items())
    return f"{title} (n = {total}){details}"


def description(data: PrismaData) -> str:
    """The diagram in words (the SVG's accessible description)."""
    return (
        f"{data.identified} records identified; {data.duplicates_removed} duplicates removed; "
        f"{data.screened} records screened, {data.excluded} excluded, {data.awaiting} awaiting "
        f"screening; {data.included} reports included; {data.studies_in_review} studies in "
        f"the review; {data.ongoing} ongoing registered trials."
    )


def prisma_diagram(data: PrismaData, fmt: ImageFormat = ImageFormat.SVG) -> bytes:
    """The flow diagram of ``data``."""
    figure = new_figure(8.0, 7.0)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_axis_off()
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    left, right = 0.27, 0.75
    rows = (0.88, 0.64, 0.40, 0.13)
    _box(
        axes,
        left,
        rows[0],
        _lines("Records identified", data.identified, data.identified_by_source),
    )
    _box(axes, right, rows[0], f"Duplicate records removed\n(n = {data.duplicates_removed})")
    _box(axes, left, rows[1], f"Records screened\n(n = {data.screened})")
    reasons = _lines("Records excluded", data.excluded, data.excluded_by_reason)
    _box(axes, right, rows[1], f"{reasons}\nAwaiting screening (n = {data.awaiting})")
    _box(axes, left, rows[2], f"New reports included\n(n = {data.included})")
    _box(axes, right, rows[2], f"Ongoing registered trials\n(n = {data.ongoing})")
    _box(axes, left, rows[3], f"Studies in the review\n(n = {data.studies_in_review})")
    for top, bottom in itertools.pairwise(rows):
        _arrow(axes, (left, top - 0.07), (left, bottom + 0.07))
    for row in rows[:2]:
        _arrow(axes, (left + 0.2, row), (right - 0.2, row))
    return figure_bytes(figure, fmt, title=TITLE, description=description(data))
