"""The review's vocabulary: outcomes, categories, comparators, designs, ratings, instruments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from service.api.deps import SessionDep, run_and_finish
from service.db.repositories.vocabulary import VocabularyRepository
from service.schemas.common import ReadModel
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
T = TypeVar("T", bound=ReadModel)


def _terms(
    session: Session, read: type[T], rows: Callable[[VocabularyRepository], Sequence[Any]]
) -> Vocabulary[T]:
    return Vocabulary(items=[read.model_validate(r) for r in rows(VocabularyRepository(session))])


@router.get("/outcomes", response_model=Vocabulary[OutcomeRead])
async def list_outcomes(session: SessionDep) -> Vocabulary[OutcomeRead]:
    """The outcomes the review pools."""
    return await run_and_finish(_terms, session, OutcomeRead, VocabularyRepository.outcomes)


@router.get("/categories", response_model=Vocabulary[CategoryRead])
async def list_categories(session: SessionDep) -> Vocabulary[CategoryRead]:
    """The intervention categories results are pooled by."""
    return await run_and_finish(_terms, session, CategoryRead, VocabularyRepository.categories)


@router.get("/comparators", response_model=Vocabulary[ComparatorRead])
async def list_comparators(session: SessionDep) -> Vocabulary[ComparatorRead]:
    """The kinds of control condition."""
    return await run_and_finish(_terms, session, ComparatorRead, VocabularyRepository.comparators)


@router.get("/designs", response_model=Vocabulary[DesignRead])
async def list_designs(session: SessionDep) -> Vocabulary[DesignRead]:
    """The study designs, and which of them are randomized."""
    return await run_and_finish(_terms, session, DesignRead, VocabularyRepository.designs)


@router.get("/quality-ratings", response_model=Vocabulary[QualityRatingRead])
async def list_quality_ratings(session: SessionDep) -> Vocabulary[QualityRatingRead]:
    """The global quality ratings, best first."""
    return await run_and_finish(
        _terms, session, QualityRatingRead, VocabularyRepository.quality_ratings
    )


@router.get("/instruments", response_model=Vocabulary[InstrumentRead])
async def list_instruments(
    session: SessionDep,
    outcome: str | None = Query(default=None, max_length=64, description="Only this outcome's."),
) -> Vocabulary[InstrumentRead]:
    """The measurement instruments, each with its outcome and direction of benefit."""
    return await run_and_finish(
        _terms, session, InstrumentRead, lambda rows: rows.instruments(outcome=outcome)
    )
