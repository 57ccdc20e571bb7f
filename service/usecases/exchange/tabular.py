"""Reading delimited text the way the two import formats write it.

The Metapsy data standard (metapsy.org, "data format") writes ``;``-separated files with decimal
commas and ``NA`` for missing values, as R's ``write.csv2`` does; metafor-style spreadsheets are
``,``-separated with decimal points (``write.csv``). Some names in published Metapsy files are
UTF-8 that was decoded as Latin-1 and encoded again ("RÃ¼sch" for "Rüsch"): they are repaired.
A quote that this service's export put before a formula-like text cell is taken off again
(:func:`~service.usecases.exchange.formulas.restore`), so that a round trip keeps every label.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from service.usecases.exchange.formulas import restore

MISSING = frozenset({"", "NA", "NaN", "N/A", "NR", "."})
FIRST_DATA_ROW = 2  # rows are numbered as a spreadsheet shows them: the header is row 1


class TableError(ValueError):
    """The text is not a table this importer can read (no header, ragged rows)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its number in the file (header = 1) and its cells by column name."""

    number: int
    cells: dict[str, str]

    def text(self, column: str) -> str | None:
        """The cell, stripped, repaired and unquoted, or ``None`` when missing (empty, ``NA``)."""
        value = self.cells.get(column)
        if value is None:
            return None
        value = restore(repair_encoding(value.strip()))
        return None if value in MISSING else value


@dataclass(frozen=True, slots=True)
class Table:
    """A header and its rows, with the dialect's decimal mark."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    decimal_comma: bool


def repair_encoding(text: str) -> str:
    """Undo one round of UTF-8 read as Latin-1 / cp1252 ("RÃ¼sch" -> "Rüsch"); else unchanged."""
    if text.isascii():
        return text
    for codec in ("latin-1", "cp1252"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def read_table(text: str, *, delimiter: str | None = None) -> Table:
    """Parse ``text``; the delimiter is guessed from the header when not given (``;`` or ``,``)."""
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        # Refused on both backends alike: PostgreSQL cannot store NUL in text columns.
        raise TableError("the file contains NUL characters; it is not a text file")
    header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        raise TableError("the file is empty or its first line (the header) is blank")
    if delimiter is None:
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = tuple(name.strip() for name in next(reader))
    rows = []
    for index, cells in enumerate(reader):
        if not any(cell.strip() for cell in cells):
            continue
        number = FIRST_DATA_ROW + index
        if len(cells) != len(columns):
            raise TableError(
                f"row {number} has {len(cells)} cells but the header has {len(columns)} columns"
            )
        rows.append(Row(number, dict(zip(columns, cells, strict=True))))
    return Table(columns=columns, rows=tuple(rows), decimal_comma=delimiter == ";")


def parse_number(text: str, *, decimal_comma: bool) -> float:
    """A number as the dialect writes it; ``ValueError`` for anything else (NaN included)."""
    cleaned = text.replace(",", ".") if decimal_comma else text
    value = float(cleaned)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value
