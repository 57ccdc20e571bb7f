"""robvis-style plots: the SVG's cells and bars carry the colours of the assessments."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from service.plots.data import Caption, RobPlotData, RobRow
from service.plots.formats import ImageFormat
from service.plots.risk_of_bias import summary_plot, summary_shares, traffic_light_plot
from service.stats.risk_of_bias import ROB2_DOMAINS

SVG = "{http://www.w3.org/2000/svg}"
ROBVIS = {
    "low": "#02c100",
    "some_concerns": "#e2df07",
    "high": "#bf0000",
    "no_information": "#4ea1f7",
}
FIVE = ("D1", "D2", "D3", "D4", "D5")


def _row(label: str, judgements: tuple[str, ...], overall: str | None, weight: float) -> RobRow:
    return RobRow(label, tuple(zip(FIVE, judgements, strict=True)), overall, weight)


DATA = RobPlotData(
    caption=Caption("Risk of bias: empowerment", "Evidence version 7"),
    tool="rob2",
    domains=tuple((code, ROB2_DOMAINS[code]) for code in FIVE),
    rows=(
        _row(
            "Boevink 2016",
            ("some_concerns", "low", "some_concerns", "low", "low"),
            "some_concerns",
            40.0,
        ),
        _row("Rogers 2007", ("low",) * 5, "low", 35.0),
        _row("Kaplan 2011", ("high", "low", "low", "low", "low"), "high", 25.0),
        RobRow("Cook 2012", (), None, 0.0),
    ),
)


def _fills_by_id(svg: bytes, prefix: str) -> dict[str, str]:
    """Each group whose id starts with ``prefix``: the fill colour of its path."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        gid = group.get("id", "")
        if gid.startswith(prefix):
            path = group.find(f"{SVG}path")
            assert path is not None
            fill = re.search(r"fill:\s*(#[0-9a-f]{6})", path.get("style", ""))
            assert fill is not None, path.get("style")
            found[gid] = fill.group(1)
    return found


def test_traffic_light_cells_match_the_assessments() -> None:
    fills = _fills_by_id(traffic_light_plot(DATA), "cell-")
    expected = {}
    for index, row in enumerate(DATA.rows):
        judgements = dict(row.judgements) if row.overall else dict.fromkeys(FIVE, "no_information")
        judgements["Overall"] = row.overall or "no_information"
        for domain, judgement in judgements.items():
            expected[f"cell-{index}-{domain}-{judgement}"] = ROBVIS[judgement]
    assert fills == expected  # 4 studies x 6 columns, each in its robvis colour


def test_a_study_without_d1b_leaves_that_cell_empty() -> None:
    cluster = RobRow(
        "Cluster 2019",
        (("D1", "low"), ("D1b", "high"), *((d, "low") for d in FIVE[1:])),
        "high",
        50.0,
    )
    data = RobPlotData(DATA.caption, "rob2", tuple(ROB2_DOMAINS.items()), (DATA.rows[1], cluster))
    fills = _fills_by_id(traffic_light_plot(data), "cell-")
    assert fills["cell-1-D1b-high"] == ROBVIS["high"]
    assert not any(gid.startswith("cell-0-D1b") for gid in fills)
    assert len(fills) == 6 + 7


def test_weighted_summary_by_hand() -> None:
    shares = summary_shares(DATA)
    # D1: some concerns 40, low 35, high 25 (Cook has no weight); overall the same.
    assert shares["D1"] == pytest.approx(
        {"some_concerns": 40.0, "low": 35.0, "high": 25.0, "no_information": 0.0}
    )
    assert shares["D2"] == pytest.approx({"low": 100.0, "no_information": 0.0})
    unweighted = summary_shares(DATA, weighted=False)
    assert unweighted["Overall"] == pytest.approx(dict.fromkeys(ROBVIS, 25.0))


def test_summary_bars_are_coloured_by_judgement() -> None:
    fills = _fills_by_id(summary_plot(DATA), "bar-")
    assert fills["bar-D1-some_concerns"] == ROBVIS["some_concerns"]
    assert fills["bar-D1-high"] == ROBVIS["high"]
    assert fills["bar-Overall-low"] == ROBVIS["low"]
    assert "bar-D2-high" not in fills  # no study is at high risk in D2


@pytest.mark.parametrize("plot", [traffic_light_plot, summary_plot])
def test_svg_is_byte_stable_and_png_renders(plot: object) -> None:
    assert callable(plot)
    assert plot(DATA) == plot(DATA)
    assert plot(DATA, ImageFormat.PNG).startswith(b"\x89PNG")


def test_the_forest_plot_has_a_risk_of_bias_column_only_with_assessments() -> None:
    from dataclasses import replace

    from service.plots.forest import forest_plot
    from tests.plots import cases

    plain = cases.grouped_forest()
    judgements = ["low", "high", None, "some_concerns"]
    studies = tuple(replace(s, risk_of_bias=judgements[i % 4]) for i, s in enumerate(plain.studies))
    svg = forest_plot(replace(plain, studies=studies))
    root = ET.fromstring(svg)
    dots = {
        g.get("id", "").split("-")[-1]: g
        for g in root.iter(f"{SVG}g")
        if g.get("id", "").startswith("rob-")
    }
    shown = {judgements[i % 4] or "no_information" for i in range(len(studies))}
    assert set(dots) == shown
    for judgement, group in dots.items():
        assert ROBVIS[judgement] in ET.tostring(group, encoding="unicode").lower()
    assert b'id="rob-' not in forest_plot(plain)  # golden files stay as they are
