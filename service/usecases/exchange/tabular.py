"""Reading delimited text the way the two import formats write it.

The Metapsy data standard (metapsy.org, "data format") writes ``;``-separated files with decimal
commas and ``NA`` for missing values, as R's ``write.csv2`` does; metafor-style spreadsheets are
``,``-separated with decimal points (``write.csv``). Some names in published Metapsy files are
UTF-8 that was decoded as Latin-1 and encoded again ("RÃ¼sch" for "Rüsch"): they are repaired.
A quote that this service's export put before a formula-like text cell is taken off again
(:func:`~service.usecases.exchange.formulas.restore`), so that a round trip keeps every label.

Limits (README "Bounded cost"): a cell of at most :data:`MAX_CELL_CHARS` characters, a header
of at most :data:`MAX_COLUMNS` columns, at most :data:`MAX_ROWS` data rows; the body itself is
bounded by ``MAX_BODY_BYTES`` (413). Past one, the error names the row and the column. The
``csv`` module's own cell limit (131,072 characters, a process-wide setting) is raised to the
largest body, so that it is this module, not ``_csv.Error``, that refuses a long cell.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from service.usecases.exchange.formulas import restore

MISSING = frozenset({"", "NA", "NaN", "N/A", "NR", "."})
FIRST_DATA_ROW = 2  # rows are numbered as a spreadsheet shows them: the header is row 1
MAX_CELL_CHARS = 10_000
MAX_COLUMNS = 500
MAX_ROWS = 50_000
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class TableError(ValueError):
    """The text is not a table this importer can read (no header, ragged rows, over a limit);
    ``row`` and ``column`` say where, when it is one place."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.row = row
        self.column = column


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
    try:
        columns = tuple(name.strip() for name in next(reader))
        _check_header(columns)
        rows = [_row(number, cells, columns) for number, cells in _data_rows(reader)]
    except csv.Error as error:  # an unclosed quote at the end, say
        raise TableError(f"row {reader.line_num}: {error}", row=reader.line_num) from error
    return Table(columns=columns, rows=tuple(rows), decimal_comma=delimiter == ";")


def _check_header(columns: tuple[str, ...]) -> None:
    if len(columns) > MAX_COLUMNS:
        raise TableError(f"the header has {len(columns)} columns; at most {MAX_COLUMNS}", row=1)
    for name in columns:
        if len(name) > MAX_CELL_CHARS:
            raise TableError(
                f"row 1: a column name of {len(name)} characters; at most {MAX_CELL_CHARS}", row=1
            )


def _data_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """The rows that are not blank, numbered as a spreadsheet shows them, up to the limit."""
    kept = 0
    for index, cells in enumerate(reader):
        if not any(cell.strip() for cell in cells):
            continue
        number = FIRST_DATA_ROW + index
        kept += 1
        if kept > MAX_ROWS:
            raise TableError(f"row {number}: the file has over {MAX_ROWS} data rows", row=number)
        yield number, cells


def _row(number: int, cells: list[str], columns: tuple[str, ...]) -> Row:
    if len(cells) != len(columns):
        raise TableError(
            f"row {number} has {len(cells)} cells but the header has {len(columns)} columns",
            row=number,
        )
    for column, cell in zip(columns, cells, strict=True):
        if len(cell) > MAX_CELL_CHARS:
            raise TableError(
                f"row {number}, column {column!r}: a cell of {len(cell)} characters; "
                f"at most {MAX_CELL_CHARS}",
                row=number,
                column=column,
            )
    return Row(number, dict(zip(columns, cells, strict=True)))


def parse_number(text: str, *, decimal_comma: bool) -> float:
    """A number as the dialect writes it; ``ValueError`` for anything else (NaN included)."""
    cleaned = text.replace(",", ".") if decimal_comma else text
    value = float(cleaned)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value
