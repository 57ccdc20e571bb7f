"""Reads and writes of certainty judgements, and the outcome terms the statements need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from service.db.models import CertaintyJudgement, Outcome


@dataclass(frozen=True, slots=True)
class OutcomeTerms:
    """An outcome's name, MID and direction of benefit."""

    slug: str
    name: str
    mid: float
    lower_is_better: bool


def _valid_at(version: int) -> ColumnElement[bool]:
    return and_(
        CertaintyJudgement.valid_from <= version,
        or_(CertaintyJudgement.valid_to.is_(None), CertaintyJudgement.valid_to > version),
    )


def _cell(outcome: str, category: str | None) -> ColumnElement[bool]:
    in_category = (
        CertaintyJudgement.category_slug.is_(None)
        if category is None
        else CertaintyJudgement.category_slug == category
    )
    return and_(CertaintyJudgement.outcome_slug == outcome, in_category)


class JudgementRepository:
    """Certainty judgements by outcome and category, as of an evidence version."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def outcome_terms(self, slug: str) -> OutcomeTerms | None:
        row = self._session.get(Outcome, slug)
        if row is None:
            return None
        return OutcomeTerms(row.slug, row.name, row.mid, row.lower_is_better)

    def valid_at(
        self, outcome: str, category: str | None, version: int
    ) -> Sequence[CertaintyJudgement]:
        """The judgements of one cell valid at ``version`` (one per domain at most)."""
        query = select(CertaintyJudgement).where(_cell(outcome, category), _valid_at(version))
        return self._session.scalars(query.order_by(CertaintyJudgement.domain)).all()

    def valid_at_outcome(self, outcome: str, version: int) -> Sequence[CertaintyJudgement]:
        """Every cell's judgements of ``outcome`` (each category, and overall) at ``version``."""
        query = select(CertaintyJudgement).where(
            CertaintyJudgement.outcome_slug == outcome, _valid_at(version)
        )
        return self._session.scalars(query.order_by(CertaintyJudgement.domain)).all()

    def history(self, outcome: str, category: str | None) -> Sequence[CertaintyJudgement]:
        """Every judgement of one cell, oldest first."""
        query = select(CertaintyJudgement).where(_cell(outcome, category))
        return self._session.scalars(query.order_by(CertaintyJudgement.id)).all()

    def close(self, outcome: str, category: str | None, domain: str, version: int) -> int | None:
        """End the current judgement of a domain at ``version``; returns its id (or None)."""
        current = select(CertaintyJudgement.id).where(
            _cell(outcome, category),
            CertaintyJudgement.domain == domain,
            CertaintyJudgement.valid_to.is_(None),
        )
        found = self._session.execute(current).scalar_one_or_none()
        if found is not None:
            self._session.execute(
                update(CertaintyJudgement)
                .where(CertaintyJudgement.id == found)
                .values(valid_to=version)
            )
        return found

    def add(self, judgement: CertaintyJudgement) -> CertaintyJudgement:
        self._session.add(judgement)
        self._session.flush()
        return judgement
