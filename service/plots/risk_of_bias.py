"""Risk-of-bias figures in the style of robvis (McGuinness and Higgins 2021, Res Synth Methods
12:55): the traffic-light plot (one row per study, one column per domain and the overall
judgement) and the weighted summary plot (per domain, the share of the weight at each
judgement, as ``robvis::rob_summary(weighted = TRUE)``).

Colours are robvis's: low #02C100, some concerns (RoB 1: unclear) #E2DF07, high #BF0000, no
information #4EA1F7. Each cell or bar segment is its own artist with an SVG id
(``cell-<row>-<domain>-<judgement>``, ``bar-<domain>-<judgement>``), so that a reader, or a
test, can find it in the SVG. A study without an assessment is "no information" throughout; a
domain a study does not have (D1b outside cluster trials) is left empty.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

from service.plots.data import RobPlotData, RobRow
from service.plots.formats import ImageFormat
from service.plots.render import figure_bytes, new_figure

COLOURS = {
    "low": "#02C100",
    "some_concerns": "#E2DF07",
    "unclear": "#E2DF07",
    "high": "#BF0000",
    "no_information": "#4EA1F7",
}
SYMBOLS = {"low": "+", "some_concerns": "-", "unclear": "?", "high": "x", "no_information": "?"}
WORDS = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "unclear": "Unclear",
    "high": "High",
    "no_information": "No information",
}
ORDER = ("low", "some_concerns", "unclear", "high", "no_information")
NO_INFORMATION = "no_information"
OVERALL = "Overall"


def cell(row: RobRow, domain: str) -> str | None:
    """The judgement to draw in ``domain`` (the overall column: ``Overall``); None: empty."""
    if row.overall is None:
        return NO_INFORMATION
    if domain == OVERALL:
        return row.overall
    return dict(row.judgements).get(domain)


def _cell_id(index: int, domain: str, judgement: str) -> str:
    return f"cell-{index}-{domain}-{judgement}"


def traffic_light_plot(data: RobPlotData, fmt: ImageFormat = ImageFormat.SVG) -> bytes:
    """Studies x domains (and overall), a coloured circle with a symbol per judgement."""
    columns = [code for code, _ in data.domains] + [OVERALL]
    n_rows = max(len(data.rows), 1)
    figure = new_figure(1.6 + 0.55 * len(columns) + 1.6, 1.6 + 0.32 * n_rows)
    axes = figure.add_axes((0.3, 0.22, 0.45, 0.62))
    for index, row in enumerate(data.rows):
        y = n_rows - 1 - index
        for x, domain in enumerate(columns):
            judgement = cell(row, domain)
            if judgement is None:
                continue
            circle = Circle((x, y), 0.38, facecolor=COLOURS[judgement], edgecolor="#444444",
                            linewidth=0.5, gid=_cell_id(index, domain, judgement))  # fmt: skip
            axes.add_patch(circle)
            axes.text(x, y, SYMBOLS[judgement], ha="center", va="center", fontsize=8)
    axes.set_xlim(-0.6, len(columns) - 0.4)
    axes.set_ylim(-0.6, n_rows - 0.4)
    axes.set_aspect("equal")
    axes.set_xticks(range(len(columns)), columns)
    axes.xaxis.tick_top()
    axes.set_yticks(range(n_rows), [r.label for r in reversed(data.rows)] or [""])
    axes.tick_params(length=0)
    for side in axes.spines.values():
        side.set_visible(False)
    _legend(figure, data)
    figure.text(0.02, 0.95, data.caption.title, fontsize=11, fontweight="bold")
    figure.text(0.02, 0.02, data.caption.evidence, fontsize=7)
    return figure_bytes(figure, fmt, title=data.caption.title, description=_description(data))


def _legend(figure: Figure, data: RobPlotData) -> None:
    lines = [f"{code}: {name}" for code, name in data.domains]
    lines += ["", *(f"{SYMBOLS[j]} {WORDS[j]}" for j in _judgements_of(data.tool))]
    figure.text(0.77, 0.84, "\n".join(lines), fontsize=6, va="top", wrap=True)


def _judgements_of(tool: str) -> tuple[str, ...]:
    middle = "unclear" if tool == "rob1" else "some_concerns"
    return ("low", middle, "high", NO_INFORMATION)


def _description(data: RobPlotData) -> str:
    counts = {j: sum(cell(r, OVERALL) == j for r in data.rows) for j in ORDER}
    parts = [f"{n} {WORDS[j].lower()}" for j, n in counts.items() if n]
    return (
        f"Risk of bias ({data.tool.upper()}) of {len(data.rows)} studies by domain; overall: "
        + (", ".join(parts) or "none")
        + "."
    )


def summary_shares(data: RobPlotData, *, weighted: bool = True) -> dict[str, dict[str, float]]:
    """Per column (domains, then ``Overall``), the percent of weight (or studies) per judgement.

    Studies with no weight count zero when ``weighted``; a domain a study lacks is left out of
    that domain's denominator (as robvis drops NA).
    """
    shares: dict[str, dict[str, float]] = {}
    for domain in [code for code, _ in data.domains] + [OVERALL]:
        totals: dict[str, float] = {}
        for row in data.rows:
            judgement = cell(row, domain)
            if judgement is not None:
                amount = (row.weight or 0.0) if weighted else 1.0
                totals[judgement] = totals.get(judgement, 0.0) + amount
        whole = sum(totals.values())
        shares[domain] = {j: 100.0 * v / whole for j, v in totals.items()} if whole else {}
    return shares


def summary_plot(
    data: RobPlotData, fmt: ImageFormat = ImageFormat.SVG, *, weighted: bool = True
) -> bytes:
    """One horizontal bar per domain (and overall): the share at each judgement."""
    shares = summary_shares(data, weighted=weighted)
    columns = list(shares)
    figure = new_figure(8.0, 1.4 + 0.4 * len(columns))
    axes = figure.add_axes((0.3, 0.25, 0.65, 0.6))
    names = dict(data.domains) | {OVERALL: "Overall risk of bias"}
    for index, domain in enumerate(columns):
        y, left = len(columns) - 1 - index, 0.0
        for judgement in ORDER:
            share = shares[domain].get(judgement, 0.0)
            if share <= 0.0:
                continue
            bar = Rectangle((left, y - 0.35), share, 0.7, facecolor=COLOURS[judgement],
                            edgecolor="#444444", linewidth=0.5,
                            gid=f"bar-{domain}-{judgement}")  # fmt: skip
            axes.add_patch(bar)
            left += share
    axes.set_xlim(0.0, 100.0)
    axes.set_ylim(-0.6, len(columns) - 0.4)
    axes.set_yticks(range(len(columns)), [names[c] for c in reversed(columns)])
    axes.set_xlabel("Percent of the weight" if weighted else "Percent of the studies")
    handles = [Rectangle((0, 0), 1, 1, facecolor=COLOURS[j]) for j in _judgements_of(data.tool)]
    figure.legend(handles, [WORDS[j] for j in _judgements_of(data.tool)], loc="lower center",
                  ncols=4, fontsize=7, frameon=False)  # fmt: skip
    figure.text(0.02, 0.93, data.caption.title, fontsize=11, fontweight="bold")
    description = _description(data).replace("by domain", "summarised by domain")
    return figure_bytes(figure, fmt, title=data.caption.title, description=description)
