"""The relevance score that orders the screening queue (highest first).

A transparent sum, in [0, 100], of what the record says about the review's question (Burke et
al. 2019: peer support; empowerment, self-efficacy, internalized stigma; randomized trials):

- 40 when the title or abstract names peer support (:data:`PEER_TERMS`), 20 more when the
  title does;
- 10 for each of the three outcomes named (:data:`OUTCOME_TERMS`), at most 30;
- 10 when the record is a randomized trial: a PubMed publication type "Randomized Controlled
  Trial" or "Clinical Trial", a registry record of an interventional study, or "randomi[sz]ed"
  in the title or abstract.

The score only orders the queue; it never excludes anything (screening is always a person's
decision). Keyword lists follow the search strategy of Burke et al. 2019 (peer support, peer
specialist, consumer-run, mutual support, self-help group; empowerment, self-efficacy, stigma).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PEER_TERMS = (
    "peer support",
    "peer-support",
    "peer specialist",
    "peer worker",
    "peer mentor",
    "peer-led",
    "peer led",
    "peer provider",
    "peer-delivered",
    "peer delivered",
    "consumer-run",
    "consumer run",
    "consumer-operated",
    "mutual support",
    "mutual aid",
    "self-help group",
    "recovery college",
)
OUTCOME_TERMS = {
    "empowerment": ("empowerment", "empowered"),
    "self-efficacy": ("self-efficacy", "self efficacy", "mastery", "confidence"),
    "internalized-stigma": (
        "internalized stigma",
        "internalised stigma",
        "self-stigma",
        "self stigma",
        "ismi",
    ),
}
TRIAL_TYPES = frozenset({"randomized controlled trial", "clinical trial", "interventional"})
_RANDOMIZED = re.compile(r"\brandomi[sz](ed|ation)\b", re.IGNORECASE)


def outcomes_named(text: str) -> list[str]:
    """The review's outcomes that ``text`` names (its slugs, in the review's order)."""
    lowered = text.lower()
    return [slug for slug, terms in OUTCOME_TERMS.items() if any(t in lowered for t in terms)]


def relevance(title: str, abstract: str | None, publication_types: Sequence[str]) -> float:
    """The score of the module docstring."""
    title_l = title.lower()
    text = f"{title_l} {(abstract or '').lower()}"
    score = 0.0
    if any(term in text for term in PEER_TERMS):
        score += 40
        if any(term in title_l for term in PEER_TERMS):
            score += 20
    score += 10 * len(outcomes_named(text))
    types = {kind.lower() for kind in publication_types}
    if types & TRIAL_TYPES or _RANDOMIZED.search(text):
        score += 10
    return score
