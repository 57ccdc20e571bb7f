"""Spreadsheet formula injection: what the CSV exports neutralise, and what the import restores.

A spreadsheet (Excel, LibreOffice Calc, Google Sheets) that opens a CSV file evaluates a cell
whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
(``=HYPERLINK("http://x")``). OWASP's "CSV Injection" guidance (and ASVS 5.0, V1.2.10): prefix
such a *text* cell with a single quote, which the spreadsheet takes as "this is text" and does
not display. Numbers are written as numbers and never prefixed: ``-0.23`` stays a number.

The import undoes exactly what the export did, so that export -> import gives back the same
text: a text cell that begins with a single quote followed by one of those characters (or by a
second quote) loses its first quote. To make that inverse exact, the export also prefixes text
that itself begins with a quote (``'abc`` is written ``''abc``). A quote before anything else
(``'abc`` in a file a person wrote) is kept as it is.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_PREFIXED = (*FORMULA_TRIGGERS, QUOTE)


def neutralise(text: str) -> str:
    """``text`` as a CSV text cell: quote-prefixed when a spreadsheet would read a formula."""
    return QUOTE + text if text.startswith(_PREFIXED) else text


def restore(text: str) -> str:
    """The inverse of :func:`neutralise`: the text that was exported as ``text``."""
    if len(text) > 1 and text[0] == QUOTE and text[1] in _PREFIXED:
        return text[1:]
    return text
