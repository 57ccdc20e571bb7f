"""Spreadsheet formula injection (OWASP "CSV Injection"): every CSV the service writes
quote-prefixes text cells that a spreadsheet would evaluate, leaves numbers alone, and the
import takes the quote off again, so a round trip keeps every label."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.usecases.exchange.export import write_csv
from service.usecases.exchange.formulas import FORMULA_TRIGGERS, neutralise, restore
from service.usecases.exchange.tabular import read_table
from tests.api.exchange_support import csv_rows, empty_app, post_import, without_ids
from tests.api.pooled_support import add_batch, pooled, trial

HOSTILE = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)"]
TEXTS = [*HOSTILE, "\tTab", "\rReturn", "'quoted", "''twice", "'=already", "plain", "'", ""]
_NUMBER = re.compile(r"^-?\d+([.,]\d+)?([eE][-+]?\d+)?$")


@pytest.mark.parametrize("text", TEXTS)
def test_restore_undoes_neutralise_and_no_cell_starts_a_formula(text: str) -> None:
    written = neutralise(text)
    assert restore(written) == text
    assert not written.startswith(FORMULA_TRIGGERS)


@pytest.mark.parametrize("dialect", ["metafor", "metapsy"])
def test_text_cells_are_prefixed_and_numbers_are_left_alone(dialect: Any) -> None:
    rows = [{"study": label, "yi": -0.23, "n": -4, "weeks": 12.0} for label in TEXTS]
    text = write_csv(("study", "yi", "n", "weeks"), rows, dialect)
    table = read_table(text, delimiter=";" if dialect == "metapsy" else ",")
    raw = [row.cells for row in table.rows]

    assert [cells["study"] for cells in raw[:4]] == [f"'{label}" for label in HOSTILE]
    yi = ".g" if dialect == "metapsy" else "yi"  # the Metapsy name of the effect
    assert {cells[yi] for cells in raw} == {"-0,23" if dialect == "metapsy" else "-0.23"}
    assert {cells["n"] for cells in raw} == {"-4"}
    assert [row.text("study") for row in table.rows] == [t or None for t in TEXTS]


def _hostile_trials() -> list[dict[str, Any]]:
    """Four trials whose free text (authors, title, arms, intervention, population) is a
    formula, and one trial with a negative effect (its yi is written as a number)."""
    bodies = []
    for index, text in enumerate(HOSTILE):
        body = trial(0.2 + 0.1 * index, year=2010 + index)
        body.update(authors=text, title=f"{text} title", intervention_name=text, population=text)
        body["arms"][0]["label"] = text
        for result in body["outcome_results"]:
            result["intervention_arm"] = text
        bodies.append(body)
    bodies.append(trial(-0.4, year=2020, authors="'quoted, B"))
    return bodies


@pytest.fixture
def hostile_source(backend: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with empty_app(backend, tmp_path / "source") as (client, curator):
        add_batch(client, curator, _hostile_trials())
        yield client, curator


@pytest.fixture
def empty_target(backend: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    (tmp_path / "target").mkdir()
    with empty_app(backend, tmp_path / "target") as found:
        yield found


CSV_ROUTES = [
    ("/v1/outcomes/empowerment/pooled", {"format": "csv"}),
    ("/v1/outcomes/empowerment/pooled", {"format": "csv", "dialect": "metapsy"}),
    ("/v1/studies", {"format": "csv"}),
    ("/v1/studies", {"format": "csv", "dialect": "metapsy"}),
]


def _formula_cells(text: str, delimiter: str) -> list[str]:
    """Cells a spreadsheet would evaluate: a trigger first, and not a number."""
    cells = [cell for row in csv_rows(text, delimiter=delimiter) for cell in row.values()]
    return [c for c in cells if c.startswith(FORMULA_TRIGGERS) and not _NUMBER.match(c)]


@pytest.mark.db
@pytest.mark.parametrize(("path", "params"), CSV_ROUTES)
def test_every_csv_route_neutralises_formulas(
    hostile_source: tuple[TestClient, dict[str, str]], path: str, params: dict[str, str]
) -> None:
    client, _ = hostile_source
    response = client.get(path, params=params)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    delimiter = ";" if params.get("dialect") == "metapsy" else ","
    assert _formula_cells(response.text, delimiter) == []
    rows = csv_rows(response.text, delimiter=delimiter)
    labels = {row["study"] for row in rows}
    for text in HOSTILE:
        assert any(label.startswith(f"'{text} 20") for label in labels), (text, labels)
    assert any(label.startswith("''quoted 2020") for label in labels)
    negative = [r for r in rows if r.get("yi", r.get(".g", "")).startswith("-")]
    assert negative, "the negative effect is written as a number"
    for row in negative:
        float(row.get("yi", row.get(".g", "")).replace(",", "."))  # a number, not '-...
    # The same through Accept: text/csv, which chooses the metafor dialect.
    accepted = client.get(path, headers={"Accept": "text/csv"})
    assert _formula_cells(accepted.text, ",") == []


@pytest.mark.db
def test_hostile_labels_survive_the_round_trip(
    hostile_source: tuple[TestClient, dict[str, str]],
    empty_target: tuple[TestClient, dict[str, str]],
) -> None:
    source, _ = hostile_source
    target, curator = empty_target
    exported = source.get("/v1/studies", params={"format": "csv"}).text

    imported = post_import(target, curator, exported, fmt="csv")

    assert imported.status_code == 201, imported.text
    assert imported.json()["problems"] == []
    fields = ("authors", "title", "intervention_name", "population", "arms")
    before = [{f: s[f] for f in fields} for s in source.get("/v1/studies").json()["items"]]
    after = [{f: s[f] for f in fields} for s in target.get("/v1/studies").json()["items"]]
    assert after == before
    assert {s["authors"] for s in after} >= set(HOSTILE)
    answer_before, answer_after = pooled(source), pooled(target)
    assert without_ids(answer_after) == without_ids(answer_before)
    assert _labels(answer_after) == _labels(answer_before)
    assert post_import(target, curator, exported, fmt="csv").json()["new_studies"] == 0


def _labels(answer: dict[str, Any]) -> list[str]:
    """The studies' labels without the database's own id (``"Jansen 2016 (#12)"``)."""
    return [re.sub(r" \(#\d+\)$", "", s["label"]) for s in answer["studies"]]
