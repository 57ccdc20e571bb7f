"""How alike two trial records are: normalised titles compared with rapidfuzz.

The one matcher behind near-duplicate detection of studies (writes, imports) and the
deduplication of surveillance candidates, so that both say "the same trial" for the same
reasons. A title is normalised before comparison (Unicode NFKD, accents and case dropped,
punctuation to spaces, whitespace collapsed), then compared with rapidfuzz's
``token_sort_ratio`` (0-100), which ignores word order and is robust to the small typos and
re-punctuation that separate two copies of one record (Bramer et al. 2016, "De-duplication of
database search results for systematic reviews in EndNote", J Med Libr Assoc 104:240, use the
same normalisations before matching).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz import fuzz

_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=16_384)
def normalise_title(title: str) -> str:
    """``title`` without accents, case, punctuation or repeated whitespace (memoised: a
    batch's titles are compared with each other and with the stored studies')."""
    decomposed = unicodedata.normalize("NFKD", title)
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", without_accents.casefold()).split())


def title_similarity(first: str, second: str) -> float:
    """Similarity of two titles in [0, 100] after :func:`normalise_title` (100: identical)."""
    return float(fuzz.token_sort_ratio(normalise_title(first), normalise_title(second)))


def normalise_author(name: str) -> str:
    """A first author's family name, normalised like a title ("Rüsch, N." -> "rusch")."""
    family = name.split(",")[0] if "," in name else (name.split() or [""])[-1]
    return normalise_title(family)
