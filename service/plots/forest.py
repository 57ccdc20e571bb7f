"""The forest plot, laid out as RevMan and metafor's ``forest()`` do.

Rows from the top: column headings; the studies (grouped by category, each group followed by
its subgroup diamond, when the answer pools all categories); the overall diamond and the
prediction interval under it (Borenstein et al. 2009, ch. 17, recommend showing it), with
``bayes=true`` a Bayesian diamond before it (the posterior median on its credible interval, the
priors and P(effect > MID) in the footer); then a
footer with heterogeneity (tau2, I2, Q), the test of the overall effect, k and participants,
the method (estimator, CI method, k), the evidence version, and the certainty of the evidence
when the answer has one. Every interval drawn (studies, subgroups, overall, prediction) is the
one the JSON answer reports; nothing is recomputed here. A study whose results carry data
warnings is marked with a dagger after its label, explained in the footer.

Each study is a square whose area is proportional to its weight (Lewis and Clarke 2001), on
its own confidence interval. A narrative synthesis draws the studies with equal squares and
no diamond, and says why.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.transforms import Transform, blended_transform_factory

from service.plots.data import Diamond, ForestData, PooledStats, StudyPoint
from service.plots.formats import ImageFormat
from service.plots.render import figure_bytes, new_figure
from service.plots.risk_of_bias import COLOURS, NO_INFORMATION
from service.plots.text import effect_with_interval, number, p_value

ROW_INCHES = 0.24
WIDTH_INCHES = 8.0
TOP_INCHES = 0.45
FOOTER_LINE_INCHES = 0.19
AXIS_LEFT, AXIS_RIGHT = 0.40, 0.70
LABEL_X, EFFECT_X, WEIGHT_X = 0.01, 0.88, 0.985
ROB_X = 0.38  # the risk-of-bias column, left of the axis
STUDY_COLOUR, POOLED_COLOUR, SUBGROUP_COLOUR = "#1f4e79", "#9c2a00", "#c06000"
BAYES_COLOUR = "#5b2a86"
DIAMOND_COLOURS = {"pooled": POOLED_COLOUR, "bayes": BAYES_COLOUR}
WARNING_MARK = " †"
FOOTER_CHARACTERS = 110  # 8-point DejaVu Sans averages under 5 points a character; 576 wide


@dataclass(frozen=True, slots=True)
class _Row:
    """One line of the plot: a group heading, a study, or a diamond."""

    kind: str
    label: str
    study: StudyPoint | None = None
    diamond: Diamond | None = None


def _study_row(study: StudyPoint) -> _Row:
    return _Row("study", study.label + (WARNING_MARK if study.warnings else ""), study=study)


def _rows(data: ForestData) -> list[_Row]:
    if not data.subgroups:
        rows = [_study_row(s) for s in data.studies]
    else:
        rows = []
        for diamond in data.subgroups:
            rows.append(_Row("group", diamond.label))
            members = [s for s in data.studies if s.group == diamond.label]
            rows += [_study_row(s) for s in members]
            count = f"{len(members)} {'study' if len(members) == 1 else 'studies'}"
            rows.append(_Row("subgroup", f"Subtotal ({count})", diamond=diamond))
    if data.pooled is not None:
        rows.append(_Row("pooled", data.pooled.label, diamond=data.pooled))
    if data.dependence is not None:
        rows.append(_Row("dependence", data.dependence.label, diamond=data.dependence))
    if data.bayes is not None:
        rows.append(_Row("bayes", data.bayes.label, diamond=data.bayes))
    if data.prediction is not None:
        rows.append(_Row("prediction", "Prediction interval"))
    return rows


def _footer(data: ForestData) -> list[str]:
    lines = []
    stats = data.stats
    if stats is not None:
        lines += _stats_lines(stats)
    elif data.no_pooling:
        lines.append(f"Not pooled: {data.no_pooling}")
    if data.method:
        lines.append(data.method)
    if data.bayes_note:
        lines.append(data.bayes_note)
    flagged = sum(1 for s in data.studies if s.warnings)
    if flagged:
        lines.append(
            f"{WARNING_MARK.strip()} data warning: {flagged} of {len(data.studies)} studies carry "
            "plausibility warnings (see data_warnings in the JSON answer)"
        )
    lines.append(f"Studies: {len(data.studies)}; {data.caption.evidence}")
    if data.caption.certainty:
        lines.append(f"Certainty of the evidence: {data.caption.certainty}")
    # Wrapped to the figure's width: a long line would run off its right edge.
    return [part for line in lines for part in textwrap.wrap(line, FOOTER_CHARACTERS)]


def _stats_lines(stats: PooledStats) -> list[str]:
    heterogeneity = (
        f"Heterogeneity: tau² = {number(stats.tau2, 3)}; I² = {number(stats.i2, 0)}%; "
        f"Q = {number(stats.q)} (df = {stats.q_df}, {p_value(stats.q_p_value)})"
    )
    overall = (
        f"Test for overall effect: {stats.statistic_name} = {number(stats.statistic)} "
        f"({p_value(stats.p_value)}); k = {stats.k}, {stats.participants} participants"
    )
    return [heterogeneity, overall]


def _limits(data: ForestData) -> tuple[float, float]:
    lows = [s.ci_lower for s in data.studies] + [0.0]
    highs = [s.ci_upper for s in data.studies] + [0.0]
    if data.prediction is not None:
        lows.append(data.prediction[0])
        highs.append(data.prediction[1])
    if data.bayes is not None:  # a credible interval can be wider than every study's CI
        lows.append(data.bayes.ci_lower)
        highs.append(data.bayes.ci_upper)
    low, high = min(lows), max(highs)
    pad = 0.05 * (high - low or 1.0)
    return low - pad, high + pad


def _square_size(study: StudyPoint, heaviest: float) -> float:
    # Marker size is a diameter in points: its square root makes the area follow the weight.
    if not heaviest or study.weight is None:
        return 6.0
    return 4.0 + 10.0 * math.sqrt(study.weight / heaviest)


def _diamond(axes: Axes, diamond: Diamond, y: float, colour: str, gid: str) -> None:
    corners = [
        (diamond.ci_lower, y),
        (diamond.estimate, y + 0.35),
        (diamond.ci_upper, y),
        (diamond.estimate, y - 0.35),
    ]
    axes.add_patch(Polygon(corners, closed=True, facecolor=colour, edgecolor=colour, gid=gid))


def _draw_studies(axes: Axes, rows: list[_Row]) -> None:
    # One collection for all lines and one for all squares: hundreds of separate artists
    # would cost most of the rendering time.
    placed = [(y, r.study) for y, r in zip(_ys(len(rows)), rows, strict=True) if r.study]
    heaviest = max((s.weight or 0.0 for _, s in placed), default=0.0)
    segments = [[(s.ci_lower, y), (s.ci_upper, y)] for y, s in placed]
    axes.add_collection(LineCollection(segments, colors=STUDY_COLOUR, linewidths=1))
    sizes = [_square_size(s, heaviest) ** 2 for _, s in placed]
    axes.scatter([s.yi for _, s in placed], [y for y, _ in placed], s=sizes, marker="s",
                 color=STUDY_COLOUR, zorder=3)  # fmt: skip


def _draw_summaries(axes: Axes, rows: list[_Row], data: ForestData) -> None:
    for y, row in zip(_ys(len(rows)), rows, strict=True):
        if row.diamond is not None:
            colour = DIAMOND_COLOURS.get(row.kind, SUBGROUP_COLOUR)
            # An id in the SVG (<g id="diamond-...">), for tests and for styling.
            _diamond(axes, row.diamond, y, colour, gid=f"diamond-{row.kind}-{-int(y)}")
        elif row.kind == "prediction" and data.prediction is not None:
            low, high = data.prediction
            axes.plot([low, high], [y, y], color=POOLED_COLOUR, linewidth=1.5, marker="|",
                      markersize=8)  # fmt: skip


def _row_texts(row: _Row, data: ForestData) -> tuple[str, str, str]:
    if row.study is not None:
        s = row.study
        weight = "" if s.weight is None else f"{s.weight:.1f}%"
        return row.label, effect_with_interval(s.yi, s.ci_lower, s.ci_upper), weight
    if row.diamond is not None:
        d = row.diamond
        weight = "100.0%" if row.kind == "pooled" else ""
        return row.label, effect_with_interval(d.estimate, d.ci_lower, d.ci_upper), weight
    if row.kind == "prediction" and data.prediction is not None:
        return row.label, f"[{number(data.prediction[0])}, {number(data.prediction[1])}]", ""
    return row.label, "", ""


def _text_columns(figure: Figure, axes: Axes, rows: list[_Row], data: ForestData) -> None:
    place = blended_transform_factory(figure.transFigure, axes.transData)
    level = f"{round(data.level * 100)}%"
    headings = (("Study", LABEL_X, "left"), (f"g [{level} CI]", EFFECT_X, "right"))
    for text, x, align in (*headings, ("Weight", WEIGHT_X, "right")):
        figure.text(x, 1.0, text, transform=place, ha=align, va="center", fontweight="bold")
    for y, row in zip(_ys(len(rows)), rows, strict=True):
        bold = "bold" if row.kind in ("group", "pooled") else "normal"
        label, effect, weight = _row_texts(row, data)
        # Figure texts, not axes texts: no clip path to set up for each of hundreds.
        figure.text(LABEL_X, y, label, transform=place, ha="left", va="center", fontweight=bold)
        figure.text(EFFECT_X, y, effect, transform=place, ha="right", va="center")
        figure.text(WEIGHT_X, y, weight, transform=place, ha="right", va="center")
    _risk_of_bias_column(figure, place, rows)


def _risk_of_bias_column(figure: Figure, place: Transform, rows: list[_Row]) -> None:
    """A robvis-coloured dot per study's overall risk of bias, when any study has one."""
    if not any(row.study and row.study.risk_of_bias for row in rows):
        return
    figure.text(ROB_X, 1.0, "RoB", transform=place, ha="center", va="center", fontweight="bold")
    for index, (y, row) in enumerate(zip(_ys(len(rows)), rows, strict=True)):
        if row.study is None:
            continue
        judgement = row.study.risk_of_bias or NO_INFORMATION
        figure.text(ROB_X, y, "\u25cf", transform=place, ha="center", va="center",
                    color=COLOURS[judgement], gid=f"rob-{index}-{judgement}")  # fmt: skip


def _ys(count: int) -> Iterator[float]:
    return (-float(i) for i in range(count))


def _favours(axes: Axes) -> None:
    # Signs are harmonised so that a positive g always favours peer support.
    axis = blended_transform_factory(axes.transData, axes.transAxes)
    for text, dx, align in (("Favours control", -4, "right"), ("Favours peer support", 4, "left")):
        axes.annotate(
            text, xy=(0, 0), xycoords=axis, xytext=(dx, -3), textcoords="offset points",
            ha=align, va="top", fontsize=8, fontstyle="italic",
        )  # fmt: skip


def _effect_axis(axes: Axes, rows: list[_Row], data: ForestData) -> None:
    axes.set_xlim(*_limits(data))
    axes.set_ylim(-len(rows) + 0.5, 1.5)
    axes.axvline(0.0, color="#444444", linewidth=0.8)
    if data.pooled is not None:
        axes.axvline(data.pooled.estimate, color=POOLED_COLOUR, linewidth=0.6, linestyle=":")
    axes.set_yticks([])
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="x", labelsize=8, pad=14)


def _description(data: ForestData) -> str:
    k = len(data.studies)
    parts = [f"Forest plot of {k} {'study' if k == 1 else 'studies'}."]
    if data.pooled is not None:
        d = data.pooled
        parts.append(
            f"Pooled Hedges' g {effect_with_interval(d.estimate, d.ci_lower, d.ci_upper)}."
        )
    if data.bayes is not None:
        d = data.bayes
        parts.append(
            f"Bayesian posterior median {effect_with_interval(d.estimate, d.ci_lower, d.ci_upper)}."
        )
    if data.prediction is not None:
        parts.append(
            f"Prediction interval [{number(data.prediction[0])}, {number(data.prediction[1])}]."
        )
    if data.no_pooling:
        parts.append(f"Not pooled: {data.no_pooling}")
    parts.append("Positive values favour peer support.")
    return " ".join(parts)


def forest_plot(data: ForestData, fmt: ImageFormat = ImageFormat.SVG) -> bytes:
    """The forest plot of ``data`` as SVG or PNG bytes."""
    figure = forest_figure(data)
    return figure_bytes(figure, fmt, title=data.caption.title, description=_description(data))


def forest_figure(data: ForestData) -> Figure:
    """The forest plot of ``data``, laid out (for :func:`forest_plot`, and tests)."""
    rows = _rows(data)
    footer = _footer(data)
    body = (len(rows) + 2) * ROW_INCHES
    bottom = 0.55 + len(footer) * FOOTER_LINE_INCHES
    height = TOP_INCHES + body + bottom
    figure = new_figure(WIDTH_INCHES, height)
    figure.text(
        LABEL_X, 1 - 0.25 / height, data.caption.title, fontsize=11, fontweight="bold", va="center"
    )
    axes = figure.add_axes((AXIS_LEFT, bottom / height, AXIS_RIGHT - AXIS_LEFT, body / height))
    _effect_axis(axes, rows, data)
    _draw_studies(axes, rows)
    _draw_summaries(axes, rows, data)
    _text_columns(figure, axes, rows, data)
    _favours(axes)
    for i, line in enumerate(footer):
        y = (bottom - 0.5 - i * FOOTER_LINE_INCHES) / height
        figure.text(LABEL_X, y, line, fontsize=8, va="top")
    return figure
