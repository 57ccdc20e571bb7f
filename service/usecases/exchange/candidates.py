"""What a file's rows become before validation: candidate studies that remember their rows.

Each candidate is a ``POST /v1/studies`` body plus where each of its fields came from, so that
a problem found by the studies' own validation (``outcome_results.1.data.means.control.sd``)
is reported at the file's row and column (row 14, ``sd_arm2``) with the value found there.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from service.usecases.exchange.tabular import Row

_RESULT_PATH = re.compile(r"^outcome_results\.(\d+)(?:\.(.*))?$")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem of the file, where it is, and how to fix it."""

    row: int | None
    column: str | None
    value: str | None
    problem: str
    suggestion: str

    def as_error(self) -> dict[str, Any]:
        """The problem as an entry of a 422's ``errors`` (``field`` names row and column)."""
        where = f"row {self.row}" if self.row is not None else "file"
        field_name = f"{where}, {self.column}" if self.column else where
        return {
            "field": field_name,
            "message": self.problem,
            "type": "value_error",
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "suggestion": self.suggestion,
        }


@dataclass(slots=True)
class Candidate:
    """A study built from rows of the file, not yet validated.

    ``study_columns`` maps a study field (``year``, ``arms``) to its column; ``result_columns[i]``
    maps a path inside result ``i`` (``data.means.control.sd``, ``timepoint.weeks``) to its
    column; ``result_rows[i]`` is the row result ``i`` came from.
    """

    source_key: str
    body: dict[str, Any]
    first_row: Row
    result_rows: list[Row] = field(default_factory=list)
    study_columns: dict[str, str] = field(default_factory=dict)
    result_columns: list[dict[str, str]] = field(default_factory=list)

    @property
    def row_numbers(self) -> frozenset[int]:
        """The rows of the file this study was built from."""
        return frozenset({self.first_row.number, *(row.number for row in self.result_rows)})

    def locate(self, path: str) -> tuple[Row, str | None]:
        """The row and column a validation error's field path points at."""
        match = _RESULT_PATH.match(path)
        if match and int(match.group(1)) < len(self.result_rows):
            index = int(match.group(1))
            return self.result_rows[index], _longest_prefix(
                self.result_columns[index], match.group(2) or ""
            )
        return self.first_row, _longest_prefix(self.study_columns, path)


def _longest_prefix(columns: dict[str, str], path: str) -> str | None:
    parts = path.split(".") if path else []
    for end in range(len(parts), 0, -1):
        column = columns.get(".".join(parts[:end]))
        if column is not None:
            return column
    return None


@dataclass(slots=True)
class ParsedFile:
    """The candidates of a file, the problems found while building them, and skipped rows."""

    rows: int
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def problem(self, row: Row, column: str | None, problem: str, suggestion: str) -> None:
        value = row.cells.get(column) if column else None
        self.problems.append(RowProblem(row.number, column, value, problem, suggestion))
