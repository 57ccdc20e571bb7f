"""Vocabulary terms as the API shows them."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import Field

from service.schemas.common import ReadModel

T = TypeVar("T", bound=ReadModel)


class TermRead(ReadModel):
    slug: str = Field(examples=["empowerment"])
    name: str
    description: str


class OutcomeRead(TermRead):
    """One of the review's three outcomes."""

    mid: float = Field(
        description="Minimal important difference (SMD) of the certainty rules; default 0.2."
    )
    lower_is_better: bool = Field(description="True when a benefit is a reduction (stigma).")


class CategoryRead(TermRead):
    """An intervention category (peer-led groups, one-to-one, peer-run services)."""


class ComparatorRead(TermRead):
    """A kind of control condition."""


class DesignRead(TermRead):
    randomized: bool


class QualityRatingRead(TermRead):
    rank: int = Field(description="Higher is better; used by min_quality.")


class InstrumentRead(ReadModel):
    slug: str
    name: str
    abbreviation: str | None
    outcome: str = Field(validation_alias="outcome_slug")
    higher_is_better: bool = Field(
        description="False for scales where lower scores mean benefit; effects are sign-flipped."
    )
    scale_min: float | None
    scale_max: float | None
    scale_source: str | None = Field(
        description="Where the range comes from (items x response range); submitted means and "
        "SDs are checked against it."
    )
    reference: str | None
    notes: str | None


class Vocabulary(ReadModel, Generic[T]):
    """A list envelope, so that fields can be added later without breaking clients."""

    items: list[T]
