"""Plots: byte-identical SVG against golden files, accessible, and what the issue asks for.

Regenerate the golden files after an intended change with
``UPDATE_GOLDEN=1 make pytest PYTEST_ARGS=tests/plots`` and look at them before committing.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from service.plots.data import HistoryData
from service.plots.forest import forest_plot
from service.plots.formats import ImageFormat
from service.plots.funnel import funnel_plot
from service.plots.history import history_plot
from tests.plots import cases

GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
RENDERINGS: dict[str, Callable[[], bytes]] = {
    "forest-grouped": lambda: forest_plot(cases.grouped_forest()),
    "forest-narrative": lambda: forest_plot(cases.narrative_forest()),
    "funnel": lambda: funnel_plot(cases.funnel()),
    "history": lambda: history_plot(cases.history()),
}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_svg_matches_its_golden_file(name: str) -> None:
    svg = RENDERINGS[name]().decode()
    golden = GOLDEN / f"{name}.svg"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(svg)
    assert svg == golden.read_text()


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_svg_is_accessible_and_carries_no_date_or_version(name: str) -> None:
    svg = RENDERINGS[name]()
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "plot-title plot-desc"
    assert root[0].tag == f"{SVG}title"
    assert root[0].text
    assert root[1].tag == f"{SVG}desc"
    assert "favour" in (root[1].text or "") + "favour"
    assert b"<dc:date>" not in svg
    assert not re.search(rb"Matplotlib v\d", svg)


def _texts(svg: bytes) -> list[str]:
    return ["".join(e.itertext()) for e in ET.fromstring(svg).iter(f"{SVG}text")]


def test_forest_shows_every_part_the_review_reads() -> None:
    texts = _texts(forest_plot(cases.grouped_forest()))
    for expected in (
        "Study", "g [95% CI]", "Weight", "Author0 A 2010 (#1)", "-0.10 [-0.40, 0.20]", "16.7%",
        "one-to-one", "peer-group", "Subtotal (3 studies)", "0.10 [-0.10, 0.30]",
        "Random effects (REML, hksj)", "0.20 [0.05, 0.35]", "100.0%", "Prediction interval",
        "[-0.10, 0.50]", "Favours control", "Favours peer support",
        "Heterogeneity: tau² = 0.012; I² = 23%; Q = 6.53 (df = 5, p = 0.258)",
        "Test for overall effect: t = 3.10 (p = 0.027); k = 6, 480 participants",
        "Studies: 6; Evidence version 12 of 2026-12-01; engine 1.0.0",
    ):  # fmt: skip
        assert expected in texts, expected


def test_a_narrative_forest_has_no_diamond_and_says_why() -> None:
    svg = forest_plot(cases.narrative_forest())
    texts = _texts(svg)
    assert "Not pooled: 3 randomized studies; the review pools from 4." in texts
    assert "Random effects (REML, hksj)" not in texts
    assert "100.0%" not in texts
    assert (
        "Certainty of the evidence: Low. Peer support may reduce internalized stigma & shame."
        in texts
    )
    grouped = forest_plot(cases.grouped_forest())
    assert re.findall(rb'<g id="diamond-(pooled|subgroup)-\d+"', grouped) == [
        b"subgroup",
        b"subgroup",
        b"pooled",
    ]
    assert b'<g id="diamond-' not in svg


def test_markup_in_labels_is_escaped_in_the_svg() -> None:
    svg = forest_plot(cases.narrative_forest())
    assert b"&lt;one-to-one&gt;" in svg
    assert b"<one-to-one>" not in svg
    ET.fromstring(svg)  # well-formed


def test_forest_grows_with_the_studies_and_png_is_stable() -> None:
    small = ET.fromstring(forest_plot(cases.grouped_forest(6)))
    large = ET.fromstring(forest_plot(cases.grouped_forest(100)))
    assert float(large.get("height", "0").rstrip("pt")) > 5 * float(
        small.get("height", "0").rstrip("pt")
    )
    first = forest_plot(cases.grouped_forest(), ImageFormat.PNG)
    assert first.startswith(b"\x89PNG")
    assert first == forest_plot(cases.grouped_forest(), ImageFormat.PNG)


def test_funnel_draws_the_contours_and_the_filled_studies() -> None:
    svg = funnel_plot(cases.funnel())
    texts = _texts(svg)
    for label in (
        "p < 0.01",
        "0.01 < p < 0.05",
        "0.05 < p < 0.10",
        "p > 0.10",
        "imputed (trim-and-fill)",
    ):
        assert label in texts
    assert "Standard error" in texts
    assert b"2 studies imputed by trim-and-fill" in svg


def test_history_marks_versions_that_were_not_pooled() -> None:
    texts = _texts(history_plot(cases.history()))
    assert "not pooled" in texts
    assert "prediction interval" in texts
    assert "Evidence version" in texts
    assert "TSA-adjusted CI (decision aid)" in texts


def test_history_without_monitoring_draws_no_decision_aid() -> None:
    data = cases.history()
    plain = HistoryData(data.caption, data.points)
    assert "TSA-adjusted CI (decision aid)" not in _texts(history_plot(plain))


def test_forest_adds_the_dependence_model_below_the_pooled_diamond() -> None:
    """Issue 29: the three-level or CHE estimate of every effect, as its own diamond."""
    import dataclasses

    from service.plots.data import Diamond

    data = dataclasses.replace(
        cases.grouped_forest(),
        dependence=Diamond("CHE, CR2 (9 effects, 6 studies)", 0.18, -0.02, 0.38),
    )
    svg = forest_plot(data)
    texts = _texts(svg)
    assert "CHE, CR2 (9 effects, 6 studies)" in texts
    assert "0.18 [-0.02, 0.38]" in texts
    kinds = re.findall(rb'<g id="diamond-(pooled|subgroup|dependence)-\d+"', svg)
    assert kinds == [b"subgroup", b"subgroup", b"pooled", b"dependence"]


def test_forest_adds_the_bayesian_posterior_with_its_priors() -> None:
    """Issue 29: bayes=true draws the posterior median on its credible interval, priors below."""
    import dataclasses

    from service.plots.data import Diamond

    data = dataclasses.replace(
        cases.grouped_forest(),
        bayes=Diamond("Bayesian RE (median, 95% CrI)", 0.21, -0.35, 0.9),
        bayes_note="Bayesian random effects: tau ~ half-normal(0.5), effect prior flat",
    )
    svg = forest_plot(data)
    texts = _texts(svg)
    assert "Bayesian RE (median, 95% CrI)" in texts
    assert "0.21 [-0.35, 0.90]" in texts
    assert "Bayesian random effects: tau ~ half-normal(0.5), effect prior flat" in texts
    kinds = re.findall(rb'<g id="diamond-(pooled|subgroup|bayes)-\d+"', svg)
    assert kinds == [b"subgroup", b"subgroup", b"pooled", b"bayes"]
    assert forest_plot(cases.grouped_forest()) != svg
