"""The review's vocabulary: outcomes, categories, comparators, designs, ratings, instruments."""

from __future__ import annotations

from fastapi import APIRouter, Query

from service.api.deps import SessionDep
from service.db.repositories.vocabulary import VocabularyRepository
from service.schemas.vocabulary import (
    CategoryRead,
    ComparatorRead,
    DesignRead,
    InstrumentRead,
    OutcomeRead,
    QualityRatingRead,
    Vocabulary,
)

router = APIRouter(prefix="/v1", tags=["vocabulary"])


@router.get("/outcomes", response_model=Vocabulary[OutcomeRead])
def list_outcomes(session: SessionDep) -> Vocabulary[OutcomeRead]:
    """The outcomes the review pools."""
    rows = VocabularyRepository(session).outcomes()
    return Vocabulary(items=[OutcomeRead.model_validate(r) for r in rows])


@router.get("/categories", response_model=Vocabulary[CategoryRead])
def list_categories(session: SessionDep) -> Vocabulary[CategoryRead]:
    """The intervention categories results are pooled by."""
    rows = VocabularyRepository(session).categories()
    return Vocabulary(items=[CategoryRead.model_validate(r) for r in rows])


@router.get("/comparators", response_model=Vocabulary[ComparatorRead])
def list_comparators(session: SessionDep) -> Vocabulary[ComparatorRead]:
    """The kinds of control condition."""
    rows = VocabularyRepository(session).comparators()
    return Vocabulary(items=[ComparatorRead.model_validate(r) for r in rows])


@router.get("/designs", response_model=Vocabulary[DesignRead])
def list_designs(session: SessionDep) -> Vocabulary[DesignRead]:
    """The study designs, and which of them are randomized."""
    rows = VocabularyRepository(session).designs()
    return Vocabulary(items=[DesignRead.model_validate(r) for r in rows])


@router.get("/quality-ratings", response_model=Vocabulary[QualityRatingRead])
def list_quality_ratings(session: SessionDep) -> Vocabulary[QualityRatingRead]:
    """The global quality ratings, best first."""
    rows = VocabularyRepository(session).quality_ratings()
    return Vocabulary(items=[QualityRatingRead.model_validate(r) for r in rows])


@router.get("/instruments", response_model=Vocabulary[InstrumentRead])
def list_instruments(
    session: SessionDep,
    outcome: str | None = Query(default=None, max_length=64, description="Only this outcome's."),
) -> Vocabulary[InstrumentRead]:
    """The measurement instruments, each with its outcome and direction of benefit."""
    rows = VocabularyRepository(session).instruments(outcome=outcome)
    return Vocabulary(items=[InstrumentRead.model_validate(r) for r in rows])
