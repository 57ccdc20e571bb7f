"""The robvis-style risk-of-bias plots of a pooled answer: which studies, which domains.

The studies are those the answer pooled, in its order, with their random-effects weights (the
summary plot weighs by them, as ``robvis::rob_summary(weighted = TRUE)``). The tool is the one
most studies were assessed with; a study assessed with the other tool, or not at all, is drawn
as "no information" (RoB 1 and RoB 2 domains do not correspond).
"""

from __future__ import annotations

from collections import Counter

from service.plots.data import Caption, RobPlotData, RobRow
from service.plots.formats import ImageFormat
from service.schemas.pooled import PooledRead, PooledStudyRead
from service.stats import risk_of_bias as rob

KINDS = ("risk-of-bias", "risk-of-bias-summary")


def _tool(answer: PooledRead) -> rob.Tool:
    tools = Counter(s.risk_of_bias_tool for s in answer.studies if s.risk_of_bias_tool)
    return rob.Tool(tools.most_common(1)[0][0]) if tools else rob.Tool.ROB2


def _domains(answer: PooledRead, tool: rob.Tool) -> tuple[tuple[str, str], ...]:
    names = rob.domains_of(tool)
    used = {code for s in answer.studies for code in s.risk_of_bias_domains}
    # D1b only when a cluster trial has it; RoB 1 and RoB 2's other domains always.
    return tuple((c, n) for c, n in names.items() if c in used or c not in rob.ROB2_OPTIONAL)


def _row(study: PooledStudyRead, tool: rob.Tool) -> RobRow:
    if study.risk_of_bias_tool != tool.value or not study.risk_of_bias_domains:
        return RobRow(study.label, (), None, study.weight)
    judgements = tuple(study.risk_of_bias_domains.items())
    return RobRow(study.label, judgements, study.risk_of_bias, study.weight)


def rob_plot_data(answer: PooledRead, caption: Caption) -> RobPlotData:
    """The plot data of ``answer``'s studies."""
    tool = _tool(answer)
    rows = tuple(_row(s, tool) for s in answer.studies)
    return RobPlotData(caption, tool.value, _domains(answer, tool), rows)


def rob_figure(answer: PooledRead, caption: Caption, kind: str, fmt: ImageFormat) -> bytes:
    """The traffic-light (``risk-of-bias``) or weighted summary plot of ``answer``."""
    # Imported here, not at the top: the drawing module loads matplotlib (over a second),
    # which only a plot needs, and this module is imported at every start (issue 24).
    from service.plots.risk_of_bias import summary_plot, traffic_light_plot

    data = rob_plot_data(answer, caption)
    if kind == "risk-of-bias":
        return traffic_light_plot(data, fmt)
    return summary_plot(data, fmt)
