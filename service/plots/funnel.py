"""The contour-enhanced funnel plot (Peters et al. 2008, J Clin Epidemiol 61:991).

Effects against their standard errors (the vertical axis inverted, precise studies on top),
with shaded regions where a study's own two-sided test against 0 has p between 0.10 and 0.05,
0.05 and 0.01, and below 0.01: asymmetry that sits in the non-significant region suggests
causes other than publication bias. The pooled estimate is a vertical line with its pseudo 95%
limits (estimate ± 1.96 SE), as metafor's ``funnel()`` draws them; trim-and-fill's imputed
studies, when asked for, are open circles.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from service.plots.data import FunnelData
from service.plots.formats import ImageFormat
from service.plots.render import figure_bytes, new_figure
from service.plots.text import number

# Outside z * SE of 0 a study's two-sided test has p below 0.01, 0.05, 0.10 (normal quantiles):
# the bands are painted from the outermost in, each over the last.
BANDS = ((None, "#a8a8a8", "p < 0.01"),
         (2.5758293035489004, "#d0d0d0", "0.01 < p < 0.05"),
         (1.959963984540054, "#ececec", "0.05 < p < 0.10"),
         (1.6448536269514722, "white", "p > 0.10"))  # fmt: skip
STUDY_COLOUR, FILLED_COLOUR, POOLED_COLOUR = "#1f4e79", "#9c2a00", "#9c2a00"


def _bands(axes: Axes, se_max: float, x_max: float) -> None:
    se = np.linspace(0.0, se_max, 50)
    for z, colour, label in BANDS:
        half = np.full_like(se, x_max) if z is None else z * se
        axes.fill_betweenx(se, -half, half, color=colour, label=label, linewidth=0)


def _description(data: FunnelData) -> str:
    text = f"Contour-enhanced funnel plot of {len(data.studies)} studies"
    if data.estimate is not None:
        text += f" around the pooled g of {number(data.estimate)}"
    if data.filled:
        text += f", with {len(data.filled)} studies imputed by trim-and-fill"
    return text + ". Shaded bands: p 0.10, 0.05 and 0.01 against no effect."


def funnel_plot(data: FunnelData, fmt: ImageFormat = ImageFormat.SVG) -> bytes:
    """The funnel plot of ``data`` as SVG or PNG bytes."""
    figure = funnel_figure(data)
    return figure_bytes(figure, fmt, title=data.caption.title, description=_description(data))


def funnel_figure(data: FunnelData) -> Figure:
    """The funnel plot of ``data``, laid out (for :func:`funnel_plot`, and tests)."""
    figure = new_figure(6.0, 4.8)
    axes = figure.add_axes((0.12, 0.15, 0.62, 0.73))
    se = np.sqrt([s.vi for s in data.studies] + [v for _, v in data.filled] or [1.0])
    yi = [s.yi for s in data.studies] + [y for y, _ in data.filled]
    se_max = float(se.max()) * 1.1
    x_max = max(3.0 * se_max, max((abs(y) for y in yi), default=1.0) * 1.1)
    _bands(axes, se_max, x_max)
    axes.axvline(0.0, color="#444444", linewidth=0.8)
    if data.estimate is not None:
        axes.axvline(data.estimate, color=POOLED_COLOUR, linewidth=1, label="pooled g")
        edge = np.array([0.0, se_max])
        for sign in (-1.0, 1.0):
            axes.plot(data.estimate + sign * 1.96 * edge, edge, color=POOLED_COLOUR,
                      linewidth=0.8, linestyle="--")  # fmt: skip
    axes.plot([s.yi for s in data.studies], np.sqrt([s.vi for s in data.studies]), "o",
              color=STUDY_COLOUR, markersize=5, label="study")  # fmt: skip
    if data.filled:
        axes.plot([y for y, _ in data.filled], np.sqrt([v for _, v in data.filled]), "o",
                  markerfacecolor="white", color=FILLED_COLOUR, markersize=5,
                  label="imputed (trim-and-fill)")  # fmt: skip
    axes.set_xlim(-x_max, x_max)
    axes.set_ylim(se_max, 0.0)
    axes.set_xlabel("Hedges' g (positive favours peer support)")
    axes.set_ylabel("Standard error")
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
    figure.text(0.12, 0.95, data.caption.title, fontsize=11, fontweight="bold")
    figure.text(0.12, 0.02, data.caption.evidence, fontsize=7)
    if data.method:  # under the title: the pooled line's method
        figure.text(0.12, 0.91, data.method, fontsize=7)
    return figure
