"""Validation messages that say what to fix, in place of pydantic's raw text (issue 26).

- malformed JSON: where it breaks, as line and column (and the character offset), with the
  JSON parser's own reason, instead of the bare offset as a field name ("Invalid value(s)
  for: 14.");
- a value outside an enumeration (a ``Literal`` or an enum): the allowed values and the
  nearest one (``difflib``'s ratio, the standard library's close-match rule);
- a misspelled data ``form`` (pydantic's "Input tag ... does not match any of the expected
  tags"): the forms and the nearest;
- a cursor of another form: what a cursor is, in place of the pattern (issue 25).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from service.schemas.pagination import CURSOR_PATTERN

_QUOTED = re.compile(r"'([^']*)'")


def nearest(value: object, allowed: Sequence[str]) -> str | None:
    """The allowed value closest to ``value`` (difflib, cut-off 0.6), if any is close."""
    found = difflib.get_close_matches(str(value), list(allowed), n=1, cutoff=0.6)
    return found[0] if found else None


def _choice(value: object, allowed: Sequence[str], what: str) -> str:
    listed = ", ".join(f"'{a}'" for a in allowed)
    close = nearest(value, allowed)
    hint = f"; did you mean '{close}'?" if close else "."
    shown = str(value)
    shown = shown if len(shown) <= 80 else f"{shown[:80]}... (shortened)"
    return f"'{shown}' is not {what}{hint} Allowed: {listed}."


def json_position(body: object, offset: int) -> tuple[int, int]:
    """Line and column (both from 1) of character ``offset`` in ``body``."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    before = text[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


def friendly(error: Mapping[str, Any], body: object) -> tuple[str, str] | None:
    """(field, message) for the errors this module words better, else ``None``."""
    kind = error.get("type")
    ctx = error.get("ctx") or {}
    location = [str(part) for part in error.get("loc", ())]
    if kind == "json_invalid":
        offset = int(location[1]) if len(location) > 1 and location[1].isdigit() else 0
        line, column = json_position(body, offset)
        reason = str(ctx.get("error", "invalid JSON")).rstrip(".")
        return "body", (
            f"The body is not valid JSON: {reason} at line {line}, column {column} "
            f"(character {offset}). Check for a missing comma or quote, or a trailing comma."
        )
    field = ".".join(location[1:]) if len(location) > 1 else ".".join(location)
    if kind == "union_tag_invalid":
        allowed = _QUOTED.findall(str(ctx.get("expected_tags", "")))
        tag_name = str(ctx.get("discriminator", "'form'")).strip("'")
        return field + f".{tag_name}", _choice(ctx.get("tag"), allowed, f"a {tag_name}")
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == CURSOR_PATTERN:
        return field, "not a cursor this list hands out: pass a page's next_cursor unchanged."
    if kind in ("literal_error", "enum"):
        allowed = _QUOTED.findall(str(ctx.get("expected", "")))
        if allowed:
            return field, _choice(error.get("input"), allowed, "one of the allowed values")
    return None
