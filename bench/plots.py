"""Plot rendering: a forest plot of k studies (SVG and PNG), median of repeated renders.

The data are synthetic (two categories, so subgroup diamonds are drawn too); rendering is
what ``GET /v1/outcomes/{outcome}/forest.svg`` adds to a cached pooled answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.timing import fmt_seconds, markdown_table, median, repeat
from service.plots.forest import forest_plot
from service.plots.formats import ImageFormat
from tests.plots.cases import grouped_forest

SIZES = (10, 100, 300)
REPEATS = 5
TARGET_SECONDS = 0.3
Row = tuple[int, str, float]


def run_plots(log: Callable[[str], None] = print) -> list[Row]:
    """(k, format, median seconds) for each size and format."""
    rows = []
    for k in SIZES:
        data = grouped_forest(k)
        for fmt in ImageFormat:
            seconds = median(repeat(lambda d=data, f=fmt: forest_plot(d, f), REPEATS))
            rows.append((k, fmt.value, seconds))
            log(f"forest plot k = {k} {fmt.value}: {fmt_seconds(seconds)}")
    return rows


def render(rows: Sequence[Row]) -> str:
    return markdown_table(
        ("k", "format", "median"), [(str(k), f, fmt_seconds(s)) for k, f, s in rows]
    )


def target_checks(rows: Sequence[Row]) -> list[tuple[str, str, bool | None]]:
    """Issue 18: a forest plot of 100 studies in under 300 ms (the SVG the pages show)."""
    found = [s for k, f, s in rows if (k, f) == (100, "svg")]
    if not found:
        return [("forest plot of 100 studies under 300 ms", "-", None)]
    return [
        (
            "forest plot of 100 studies under 300 ms",
            fmt_seconds(found[0]),
            found[0] < TARGET_SECONDS,
        )
    ]
