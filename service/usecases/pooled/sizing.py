"""The bytes an object graph really holds, for the memory budgets of the in-process caches.

The result cache used to weigh an answer at four times its JSON, and the selection memo
counted entries: a replica polled with 397 specifications grew to three times the documented
budget. :func:`deep_size` walks the objects (``sys.getsizeof`` of each, once per object, as
pympler's ``asizeof`` does) so that a budget in bytes means bytes.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel

# Shared by every object that refers to them; counting them would only add noise.
_SHARED = (type(None), bool, type)
_SAMPLED_ABOVE = 64


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if isinstance(value, BaseModel):
        return [value.__dict__, value.__pydantic_fields_set__]
    slots = getattr(type(value), "__slots__", ())
    children = [getattr(value, name) for name in slots if hasattr(value, name)]
    if hasattr(value, "__dict__"):
        children.append(value.__dict__)
    return children


def deep_size(root: Any, seen: set[int] | None = None) -> int:
    """The bytes of ``root`` and of every object it refers to, each counted once.

    ``seen``: ids of objects already counted (shared with a caller's walk).
    """
    seen = set() if seen is None else seen
    pending = [root]
    total = 0
    while pending:
        value = pending.pop()
        if isinstance(value, _SHARED) or id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, list | tuple) and len(value) > _SAMPLED_ABOVE:
            # A list of thousands of rows (studies, leave-one-out fits) is priced from a sample,
            # which keeps sizing a cache miss at a few percent of its serialization.
            total += sample_size(tuple(value), seen=seen)
            continue
        total += sys.getsizeof(value)
        if not isinstance(value, str | bytes | int | float):
            pending.extend(_children(value))
    return total


def sample_size(items: tuple[Any, ...], *, sample: int = 16, seen: set[int] | None = None) -> int:
    """The bytes of a tuple of like objects, from the mean size of ``sample`` spread over it.

    For the selection memo, whose puts sit on the write path (walking 20,000 effects each time
    would cost more than the delta they save), and for long lists inside an answer. What the
    sampled items share (field names, vocabulary) is counted once.
    """
    seen = set() if seen is None else seen
    if not items:
        return sys.getsizeof(items)
    step = max(1, len(items) // sample)
    picked = items[::step][:sample]
    per_item = sum(deep_size(item, seen) for item in picked) / len(picked)
    return sys.getsizeof(items) + int(per_item * len(items))
