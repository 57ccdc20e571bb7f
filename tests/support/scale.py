"""How large scale tests run: the issues' full sizes in ``make scale``, smaller in ``make test``.

A scale test proves behaviour that only shows under load (a lagging worker catching up, two
delivery workers never sending one event twice, concurrent writers never losing a version).
The behaviour is the same at a few hundred operations as at the issue's thousands; the size
is what costs (issue 24: the 1,000-write burst and the 20,000 deliveries alone took 207 s of
a quiet ``make test``). ``make test`` runs them at the quick size; ``make scale`` sets
``TEST_SCALE=full`` and runs every test marked ``scale`` at the size its issue names.
"""

from __future__ import annotations

import os

SIZES = ("quick", "full")
CHOSEN = os.environ.get("TEST_SCALE", "quick")
if CHOSEN not in SIZES:  # a typo must not quietly run the quick size in `make scale`
    raise RuntimeError(f"TEST_SCALE={CHOSEN!r}: expected one of {SIZES}")
FULL = CHOSEN == "full"


def scaled(full: int, quick: int) -> int:
    """``full`` under ``TEST_SCALE=full`` (``make scale``), else ``quick`` (``make test``)."""
    return full if FULL else quick
