"""Numbers as the plots print them (two decimals for effects, as RevMan and metafor do)."""

from __future__ import annotations


def number(value: float | None, digits: int = 2) -> str:
    """``value`` rounded to ``digits``; an en dash when it is undefined."""
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    # "-0.00" says nothing that "0.00" does not.
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def p_value(value: float | None) -> str:
    """``p = 0.034``, or ``p < 0.001`` below that."""
    if value is None:
        return "p = –"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def interval(lower: float | None, upper: float | None) -> str:
    """``[0.12, 0.45]``."""
    return f"[{number(lower)}, {number(upper)}]"


def effect_with_interval(estimate: float | None, lower: float | None, upper: float | None) -> str:
    """``0.31 [0.12, 0.45]``."""
    return f"{number(estimate)} {interval(lower, upper)}"
