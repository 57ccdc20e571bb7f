"""Field-by-field comparison of two extractions of one study (bodies of ``POST /v1/studies``).

What is compared, and how (the rules the README states):

- numbers (arm sizes, means, SDs, ns, statistics, weeks, year, ICC): equal when within
  ``abs_tol`` of each other or within ``rel_tol`` of the larger (by default 0.005 absolute,
  half a unit in the second decimal, or 0.1%);
- vocabulary and identifiers (design, category, comparator, quality rating, outcome,
  instrument, time point label, data form, arm roles, RoB tool, effect of interest and domain
  judgements, DOI, PMID, registration id, country, booleans): exactly;
- free text (title, authors, descriptions, population, arm labels, support texts, source) is
  not compared: two people never word it alike, and it does not enter the analysis.

A field one extraction has and the other lacks (a result or a RoB domain only one recorded) is
a discrepancy with ``None`` on the missing side.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

EXACT_KEYS = frozenset({
    "design", "category", "comparator", "quality_rating", "outcome", "instrument", "form",
    "role", "tool", "effect_of_interest", "judgement", "doi", "pmid", "registration_id",
    "country",
})  # fmt: skip
SKIPPED_TOP = frozenset({"source", "tags"})
ABS_TOL = 0.005
REL_TOL = 0.001


@dataclass(frozen=True, slots=True)
class Difference:
    """One field on which the extractions differ; ``kind``: number, vocabulary or risk_of_bias."""

    field: str
    kind: str
    first: Any
    second: Any


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every compared leaf of a body as (dotted path, value)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not path and key in SKIPPED_TOP:
                continue
            yield from leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}.{index}")
    elif _compared(path, value):
        yield path, value


def _compared(path: str, value: Any) -> bool:
    key = path.rsplit(".", 1)[-1]
    if isinstance(value, bool) or value is None:
        return key in EXACT_KEYS or isinstance(value, bool)
    if isinstance(value, int | float):
        return True
    return key in EXACT_KEYS or path.endswith("timepoint.label")


def _kind(path: str, value: Any) -> str:
    if ".risk_of_bias." in f".{path}":
        return "risk_of_bias"
    return "number" if _is_number(value) else "vocabulary"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def same(first: Any, second: Any, *, abs_tol: float = ABS_TOL, rel_tol: float = REL_TOL) -> bool:
    """Numbers within the tolerance; anything else exactly."""
    if _is_number(first) and _is_number(second):
        return math.isclose(float(first), float(second), rel_tol=rel_tol, abs_tol=abs_tol)
    return bool(first == second)


def compare(
    first: dict[str, Any],
    second: dict[str, Any],
    *,
    abs_tol: float = ABS_TOL,
    rel_tol: float = REL_TOL,
) -> tuple[list[Difference], int]:
    """The differences between two bodies, and how many fields were compared."""
    one, two = dict(leaves(first)), dict(leaves(second))
    fields = list(dict.fromkeys([*one, *two]))
    differences = [
        Difference(f, _kind(f, one.get(f, two.get(f))), one.get(f), two.get(f))
        for f in fields
        if not same(one.get(f), two.get(f), abs_tol=abs_tol, rel_tol=rel_tol)
    ]
    return differences, len(fields)


def rob_judgements(body: dict[str, Any]) -> dict[str, str]:
    """Every RoB domain judgement of a body: ``outcome_results.<i>.<domain>`` -> judgement."""
    found = {}
    for index, result in enumerate(body.get("outcome_results") or []):
        assessment = result.get("risk_of_bias") or {}
        for code, domain in (assessment.get("domains") or {}).items():
            found[f"outcome_results.{index}.{code}"] = domain["judgement"]
    return found
