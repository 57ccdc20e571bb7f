"""Reads of the controlled vocabulary."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service.db.models import (
    Comparator,
    Instrument,
    InterventionCategory,
    Outcome,
    QualityRating,
    StudyDesign,
)


class VocabularyRepository:
    """Lists and lookups of vocabulary terms, in their documented order."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def schema_revision(self) -> tuple[str, tuple[str, ...]]:
        """The database (its URL, password hidden) and its Alembic revision(s).

        The vocabulary is reference data that only migrations write (no route or use case
        changes a term), so this pair identifies it: a cache keyed by it is invalidated by the
        next migration, and two databases never share an entry.
        """
        url = self._session.get_bind().engine.url.render_as_string(hide_password=True)
        rows = self._session.execute(text("SELECT version_num FROM alembic_version"))
        return url, tuple(sorted(str(row[0]) for row in rows))

    def outcomes(self) -> Sequence[Outcome]:
        return self._session.scalars(select(Outcome).order_by(Outcome.position)).all()

    def categories(self) -> Sequence[InterventionCategory]:
        query = select(InterventionCategory).order_by(InterventionCategory.position)
        return self._session.scalars(query).all()

    def comparators(self) -> Sequence[Comparator]:
        return self._session.scalars(select(Comparator).order_by(Comparator.position)).all()

    def designs(self) -> Sequence[StudyDesign]:
        return self._session.scalars(select(StudyDesign).order_by(StudyDesign.position)).all()

    def quality_ratings(self) -> Sequence[QualityRating]:
        query = select(QualityRating).order_by(QualityRating.rank.desc())
        return self._session.scalars(query).all()

    def instruments(self, *, outcome: str | None = None) -> Sequence[Instrument]:
        query = select(Instrument).order_by(Instrument.outcome_slug, Instrument.slug)
        if outcome is not None:
            query = query.where(Instrument.outcome_slug == outcome)
        return self._session.scalars(query).all()

    def outcome(self, slug: str) -> Outcome | None:
        return self._session.get(Outcome, slug)
