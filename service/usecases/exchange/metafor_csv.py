"""metafor-style CSV: one row per result, with the column names metafor's ``escalc`` uses.

Columns (names are case-insensitive; see the README's "Importing and exporting"):

- the study: ``study`` (or ``slab``), ``year`` and, optionally, ``authors``, ``title``,
  ``doi``, ``registration_id``, ``country``, ``population``, ``intervention``, ``category``,
  ``design``, ``comparator``, ``quality``; rows with the same ``study`` and ``year`` are one
  study, whose source id is ``"<study> (<year>)"``;
- the result: ``outcome``, ``instrument``, ``timepoint`` (``post`` or ``follow-up``) and
  ``weeks``, optionally the arms ``arm1`` / ``arm2`` with their sizes ``nrand1`` / ``nrand2``;
- the data: ``m1i, sd1i, n1i, m2i, sd2i, n2i`` (arm 1 is the intervention), or ``yi`` with
  ``vi`` or ``sei`` (a Hedges' g; positive favours the intervention, as this service exports
  it, unless ``yi_direction`` is ``instrument``: then it is arm 1 minus arm 2 in the
  instrument's direction and is flipped for lower-is-better scales), or, as
  ``GET /v1/studies?format=csv`` writes them, ``form`` with the reported data as JSON in
  ``reported`` (every reported form, exactly).
"""

from __future__ import annotations

import json
import math
from typing import Any

from service.usecases.exchange.candidates import Candidate, ParsedFile, RowProblem
from service.usecases.exchange.tabular import Row, Table, parse_number

SOURCE = "csv"
MEANS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
YI_DIRECTION = "yi_direction"
DEFAULTS = {"design": "randomized", "comparator": "other", "timepoint": "post"}
STUDY_COLUMNS = {
    "title": "study",
    "authors": "study",
    "year": "year",
    "doi": "doi",
    "registration_id": "registration_id",
    "country": "country",
    "population": "population",
    "intervention_name": "intervention",
    "category": "category",
    "design": "design",
    "comparator": "comparator",
    "quality_rating": "quality",
    "total_randomized": "nrand1",
    "arms": "arm1",
}
_MEANS_PATHS = {
    "data.means.intervention.mean": "m1i",
    "data.means.intervention.sd": "sd1i",
    "data.means.intervention.n": "n1i",
    "data.means.control.mean": "m2i",
    "data.means.control.sd": "sd2i",
    "data.means.control.n": "n2i",
}
_RESULT_COLUMNS = {
    "outcome": "outcome",
    "instrument": "instrument",
    "timepoint.weeks": "weeks",
    "timepoint.label": "timepoint",
    "data": "reported",
}


def _lower(table: Table) -> Table:
    rows = tuple(
        Row(r.number, {name.lower(): value for name, value in r.cells.items()}) for r in table.rows
    )
    return Table(tuple(c.lower() for c in table.columns), rows, table.decimal_comma)


def parse_metafor_csv(table: Table) -> ParsedFile:
    """Candidate studies of a metafor-style CSV file (columns in the module docstring)."""
    table = _lower(table)
    parsed = ParsedFile(rows=len(table.rows))
    label = "study" if "study" in table.columns else "slab"
    if label not in table.columns:
        parsed.problems.append(_missing_column("study"))
        return parsed
    groups: dict[str, list[Row]] = {}
    for row in table.rows:
        groups.setdefault(f"{row.text(label)} ({row.text('year')})", []).append(row)
    reader = _Reader(table, parsed, label)
    parsed.candidates = [reader.study(key, rows) for key, rows in groups.items()]
    return parsed


def _missing_column(name: str) -> RowProblem:
    return RowProblem(1, name, None, f"the header has no '{name}' column", f"add a {name} column")


class _Reader:
    def __init__(self, table: Table, parsed: ParsedFile, label: str) -> None:
        self._comma = table.decimal_comma
        self._parsed = parsed
        self._label = label
        self._columns = frozenset(table.columns)

    def number(self, row: Row, column: str) -> Any:
        """The cell as a number; the text itself when it is not one (validation says why)."""
        text = row.text(column)
        if text is None:
            return None
        try:
            value = parse_number(text, decimal_comma=self._comma)
        except ValueError:
            return text
        return int(value) if column.startswith("n") and value == int(value) else value

    def study(self, key: str, rows: list[Row]) -> Candidate:
        first = rows[0]
        columns = dict(STUDY_COLUMNS, title=self._label, authors=self._label)
        for index, (given, analysed) in enumerate((("nrand1", "n1i"), ("nrand2", "n2i"))):
            size = given if given in self._columns else analysed
            columns[f"arms.{index}.n_randomized"] = size
            columns["total_randomized" if index == 0 else "arms"] = size
        candidate = Candidate(key, {}, first, study_columns=columns)
        arms: dict[str, dict[str, Any]] = {}
        results = [self.result(row, arms, candidate) for row in rows]
        candidate.body.update(self.fields(first))
        candidate.body["arms"] = list(arms.values())
        sizes = [arm["n_randomized"] for arm in arms.values()]
        # Unreadable sizes stay in the arms, where validation names them; the total is theirs.
        total = sum(n for n in sizes if isinstance(n, int))
        candidate.body["total_randomized"] = total
        candidate.body["outcome_results"] = results
        return candidate

    def fields(self, row: Row) -> dict[str, Any]:
        name = row.text(self._label) or "(no study label)"
        optional = ("doi", "registration_id", "country")
        return {
            "title": row.text("title") or name,
            "authors": row.text("authors") or name.split(",")[0].strip(),
            "year": self.number(row, "year"),
            **{column: row.text(column) for column in optional if row.text(column)},
            "design": row.text("design") or DEFAULTS["design"],
            "category": row.text("category"),
            "intervention_name": row.text("intervention") or "Peer support",
            "comparator": row.text("comparator") or DEFAULTS["comparator"],
            "population": row.text("population") or "Not reported in the imported file",
            "quality_rating": row.text("quality"),
            "source": {"extracted_by": "csv import", "document": row.text("source")},
        }

    def result(
        self, row: Row, arms: dict[str, dict[str, Any]], candidate: Candidate
    ) -> dict[str, Any]:
        data, columns = self.data(row)
        labels = (row.text("arm1") or "Intervention", row.text("arm2") or "Control")
        for label, role, n_column, size in (
            (labels[0], "intervention", "nrand1", "n1i"),
            (labels[1], "control", "nrand2", "n2i"),
        ):
            n = self.number(row, n_column) or self.number(row, size)
            arm = arms.setdefault(label, {"label": label, "role": role, "n_randomized": n})
            if isinstance(n, int) and isinstance(arm["n_randomized"], int):
                arm["n_randomized"] = max(arm["n_randomized"], n)
        candidate.result_rows.append(row)
        candidate.result_columns.append({**_RESULT_COLUMNS, **columns})
        return {
            "outcome": row.text("outcome"),
            "instrument": row.text("instrument"),
            "timepoint": {
                "weeks": self.number(row, "weeks"),
                "label": row.text("timepoint") or DEFAULTS["timepoint"],
            },
            "intervention_arm": labels[0],
            "control_arm": labels[1],
            "data": data,
        }

    def data(self, row: Row) -> tuple[Any, dict[str, str]]:
        reported = row.text("reported")
        if reported is not None:
            try:
                return json.loads(reported), {}
            except json.JSONDecodeError:
                return reported, {}
        if any(row.text(column) is not None for column in MEANS):
            values = {column: self.number(row, column) for column in MEANS}
            return _means(values), dict(_MEANS_PATHS)
        return self._effect(row)

    def _effect(self, row: Row) -> tuple[Any, dict[str, str]]:
        yi, vi, sei = (self.number(row, column) for column in ("yi", "vi", "sei"))
        se = sei
        spread = "sei"
        if se is None and isinstance(vi, float | int) and vi > 0:
            se, spread = math.sqrt(vi), "vi"
        direction = (row.text(YI_DIRECTION) or "intervention").lower()
        columns = {"data.effect_se.effect": "yi", "data.effect_se.se": spread}
        if yi is None and se is None:
            columns = {"data": "m1i"}
        return {
            "form": "effect_se",
            "effect": yi,
            "se": se,
            "positive_favours_intervention": direction != "instrument",
        }, columns


def _means(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "form": "means",
        "intervention": {"mean": values["m1i"], "sd": values["sd1i"], "n": values["n1i"]},
        "control": {"mean": values["m2i"], "sd": values["sd2i"], "n": values["n2i"]},
    }
