"""Unknown vocabulary slugs: the valid ones, and the nearest as a suggestion.

A client who sends ``"Internalized stigma"``, ``"ES"`` or ``"ismi10"`` meant a slug; the
answer names it instead of a pattern. In order: the value normalised to a slug (lower case,
spaces and underscores to hyphens); an abbreviation (the instrument's own, such as ``ES`` or
``ISMI-10``, or the initials of the slug's words); then the closest slug by difflib's ratio
(at least 0.6, Python's default cut-off).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping


def _normalised(value: str) -> str:
    return re.sub(r"[\s_]+", "-", value.strip().lower())


def _initials(slug: str) -> str:
    return "".join(word[0] for word in slug.split("-") if word)


def nearest(
    value: str, allowed: Collection[str], abbreviations: Mapping[str, str] | None = None
) -> str | None:
    """The slug ``value`` most likely meant, or ``None`` when nothing is close."""
    candidate = _normalised(value)
    if candidate in allowed:
        return candidate
    compact = candidate.replace("-", "")
    by_abbreviation = {a.lower().replace("-", ""): s for s, a in (abbreviations or {}).items()}
    if compact in by_abbreviation:
        return by_abbreviation[compact]
    initials = [slug for slug in sorted(allowed) if _initials(slug) == compact]
    if len(initials) == 1:
        return initials[0]
    squashed = {slug.replace("-", ""): slug for slug in allowed}
    if compact in squashed:
        return squashed[compact]
    close = difflib.get_close_matches(candidate, sorted(allowed), n=1)
    return close[0] if close else None


def unknown_slug_message(
    kind: str, value: str, allowed: Collection[str], abbreviations: Mapping[str, str] | None = None
) -> str:
    """``unknown instrument 'es': did you mean 'empowerment-scale'? Valid: ...``."""
    suggestion = nearest(value, allowed, abbreviations)
    hint = f": did you mean '{suggestion}'?" if suggestion else "."
    return f"unknown {kind} '{value[:64]}'{hint} Valid: {', '.join(sorted(allowed))}"
