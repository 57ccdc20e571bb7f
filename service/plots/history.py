"""The living trajectory: the pooled estimate after every evidence version that changed it.

The estimate with its confidence interval (shaded) and prediction interval (dashed) at each
version, against the line of no effect; versions at which the outcome was not pooled (a
narrative synthesis below the review's minimum k) are marked on the axis, since a gap in the
line is easy to miss. When sequential monitoring exists, the TSA-adjusted interval of the
newest look is drawn beside the conventional CI on the same g scale (a reviewer compares two
intervals more easily than a Z path against boundaries), labelled as a decision aid.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from service.plots.data import HistoryData, HistoryPoint, SequentialLimits
from service.plots.formats import ImageFormat
from service.plots.render import figure_bytes, new_figure
from service.plots.text import effect_with_interval

ESTIMATE_COLOUR = "#1f4e79"
SEQUENTIAL_COLOUR = "#b35900"
SEQUENTIAL_LABEL = "TSA-adjusted CI (decision aid)"
SEQUENTIAL_OFFSET = 0.25  # beside the newest CI, not on top of it


def _pooled(points: tuple[HistoryPoint, ...]) -> list[HistoryPoint]:
    return [p for p in points if p.estimate is not None]


def _description(data: HistoryData) -> str:
    pooled = _pooled(data.points)
    text = f"Pooled estimate after each of {len(data.points)} evidence versions"
    if pooled:
        last = pooled[-1]
        interval = effect_with_interval(last.estimate, last.ci_lower, last.ci_upper)
        text += f"; at version {last.version}, g {interval}"
    if data.sequential is not None:
        limits = data.sequential
        text += (
            f"; decision aid: TSA-adjusted interval {limits.lower:.2f} to {limits.upper:.2f}"
            f" at version {limits.version}"
        )
    return text + ". Positive values favour peer support."


def _draw_sequential(axes: Axes, limits: SequentialLimits) -> None:
    x = limits.version + SEQUENTIAL_OFFSET
    axes.vlines([x], [limits.lower], [limits.upper], color=SEQUENTIAL_COLOUR, linewidth=1.5,
                linestyles="dotted", label=SEQUENTIAL_LABEL)  # fmt: skip
    axes.plot([x, x], [limits.lower, limits.upper], "_", color=SEQUENTIAL_COLOUR, markersize=8)


def history_plot(data: HistoryData, fmt: ImageFormat = ImageFormat.SVG) -> bytes:
    """The history plot of ``data`` as SVG or PNG bytes."""
    figure = history_figure(data)
    return figure_bytes(figure, fmt, title=data.caption.title, description=_description(data))


def history_figure(data: HistoryData) -> Figure:
    """The history plot of ``data``, laid out (for :func:`history_plot`, and tests)."""
    figure = new_figure(7.0, 3.8)
    axes = figure.add_axes((0.10, 0.16, 0.86, 0.66))
    pooled = _pooled(data.points)
    versions = [p.version for p in pooled]
    estimates = [p.estimate or 0.0 for p in pooled]
    below = [
        e - (p.ci_lower if p.ci_lower is not None else e)
        for e, p in zip(estimates, pooled, strict=True)
    ]
    above = [
        (p.ci_upper if p.ci_upper is not None else e) - e
        for e, p in zip(estimates, pooled, strict=True)
    ]
    with_pi = [p for p in pooled if p.pi_lower is not None and p.pi_upper is not None]
    axes.vlines([p.version for p in with_pi], [p.pi_lower or 0.0 for p in with_pi],
                [p.pi_upper or 0.0 for p in with_pi], color="#9fb7d0", linewidth=6,
                label="prediction interval")  # fmt: skip
    axes.errorbar(versions, estimates, yerr=[below, above], color=ESTIMATE_COLOUR, marker="o",
                  markersize=4, capsize=3, linewidth=1, label="pooled g and CI")  # fmt: skip
    narrative = [p.version for p in data.points if p.estimate is None]
    if narrative:
        axes.plot(narrative, [0.0] * len(narrative), "x", color="#777777", label="not pooled")
    if data.sequential is not None:
        _draw_sequential(axes, data.sequential)
    axes.axhline(0.0, color="#444444", linewidth=0.8)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # versions are whole numbers
    axes.set_xlabel("Evidence version")
    axes.set_ylabel("Hedges' g")
    axes.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, fontsize=7, frameon=False)
    figure.text(0.10, 0.94, data.caption.title, fontsize=11, fontweight="bold")
    footer = data.caption.evidence + (f"; {data.method}" if data.method else "")
    figure.text(0.10, 0.02, footer, fontsize=7 if not data.method else 6.5)
    return figure
