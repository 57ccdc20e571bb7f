"""The vocabulary the spec states is the vocabulary the migrations wrote (issue 25).

The request schemas enumerate the outcomes, categories, comparators, designs and quality
ratings (:mod:`service.schemas.vocabulary`), because only migrations write them. A migration
that adds, renames or removes a term must extend the constant too: this test fails until it
does, on both databases, so the spec and the data cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy.orm import Session

from service.db.repositories.vocabulary import VocabularyRepository
from service.schemas import vocabulary

pytestmark = pytest.mark.db

KINDS: dict[str, tuple[tuple[str, ...], Callable[[VocabularyRepository], Sequence[Any]]]] = {
    "outcomes": (vocabulary.OUTCOMES, VocabularyRepository.outcomes),
    "categories": (vocabulary.CATEGORIES, VocabularyRepository.categories),
    "comparators": (vocabulary.COMPARATORS, VocabularyRepository.comparators),
    "designs": (vocabulary.DESIGNS, VocabularyRepository.designs),
    "quality_ratings": (vocabulary.QUALITY_RATINGS, VocabularyRepository.quality_ratings),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_constants_are_the_migrated_vocabulary(session: Session, kind: str) -> None:
    stated, rows = KINDS[kind]
    # The same slugs in the order GET /v1/<kind> lists them (the migrations' positions).
    assert stated == tuple(term.slug for term in rows(VocabularyRepository(session)))


def test_each_outcomes_instruments_are_the_migrated_ones(session: Session) -> None:
    rows = VocabularyRepository(session).instruments()
    migrated: dict[str, tuple[str, ...]] = {}
    for row in rows:
        migrated[row.outcome_slug] = (*migrated.get(row.outcome_slug, ()), row.slug)
    assert migrated == vocabulary.INSTRUMENTS
