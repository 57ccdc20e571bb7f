"""One label per vocabulary entry, from the vocabulary itself (issue 26).

Pages, plots and statements showed raw slugs ("very_low", "peer-group") or labels made up
from them ("Self efficacy" beside the vocabulary's "Self-efficacy"). Every reader-facing
label of a slug comes from here: the vocabulary's own ``name`` for outcomes, intervention
categories, comparators, designs and quality ratings, and the GRADE levels' names (Balshem et
al. 2011, GRADE guidelines 3: "High", "Moderate", "Low", "Very low"). A slug the vocabulary
does not know keeps a readable fallback (hyphens and underscores to spaces, capitalised).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from service.db.repositories.vocabulary import VocabularyRepository

CERTAINTY_LEVELS = {"high": "High", "moderate": "Moderate", "low": "Low", "very_low": "Very low"}


def fallback(slug: str) -> str:
    """``peer-group`` -> ``Peer group``: for a slug no vocabulary names."""
    return slug.replace("-", " ").replace("_", " ").capitalize()


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 study``, ``2 studies``: the count with its noun in the right number."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


@dataclass(frozen=True, slots=True)
class Labels:
    """The vocabulary's names by kind and slug; ``PLAIN`` has none (fallbacks only)."""

    outcomes: Mapping[str, str] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)
    comparators: Mapping[str, str] = field(default_factory=dict)
    designs: Mapping[str, str] = field(default_factory=dict)
    quality: Mapping[str, str] = field(default_factory=dict)

    def outcome(self, slug: str) -> str:
        return self.outcomes.get(slug) or fallback(slug)

    def category(self, slug: str | None) -> str:
        """A category's name; ``None`` (every category) is "All categories"."""
        return "All categories" if slug is None else self.categories.get(slug) or fallback(slug)

    def comparator(self, slug: str) -> str:
        return self.comparators.get(slug) or fallback(slug)

    def design(self, slug: str) -> str:
        return self.designs.get(slug) or fallback(slug)

    def quality_rating(self, slug: str) -> str:
        return self.quality.get(slug) or fallback(slug)

    @staticmethod
    def certainty(level: str) -> str:
        """A GRADE level's name: ``very_low`` -> ``Very low``."""
        return CERTAINTY_LEVELS.get(level) or fallback(level)


PLAIN = Labels()


def vocabulary_labels(session: Session) -> Labels:
    """Every vocabulary entry's name, by kind."""
    repository = VocabularyRepository(session)
    return Labels(
        outcomes={t.slug: t.name for t in repository.outcomes()},
        categories={t.slug: t.name for t in repository.categories()},
        comparators={t.slug: t.name for t in repository.comparators()},
        designs={t.slug: t.name for t in repository.designs()},
        quality={t.slug: t.name for t in repository.quality_ratings()},
    )
