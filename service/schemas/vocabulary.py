"""Vocabulary terms as the API shows them, and the slugs the spec states (issue 25).

The vocabulary (outcomes, categories, comparators, designs, quality ratings, instruments) is
written by the Alembic migrations alone: no route writes it
(:mod:`service.api.routes.vocabulary` only reads). So the request schemas can state it, each
kind once, as a named ``$ref`` component (``OutcomeSlug``, ``CategorySlug``... named by
:mod:`service.api.spec_components` after these aliases; an instrument by its outcome), and a
schema-valid request names only terms the database holds. A migration that adds, renames or
removes a term must change the constant here too: ``tests/db/test_vocabulary_constants.py``
holds the two equal on both databases. The order is the migrations' (``position``, then
slug), which the vocabulary routes list.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar, get_args

from pydantic import Field

from service.schemas.common import ReadModel

T = TypeVar("T", bound=ReadModel)

OutcomeSlug = Literal["empowerment", "self-efficacy", "internalized-stigma"]
CategorySlug = Literal["peer-group", "one-to-one", "peer-run-service"]
ComparatorSlug = Literal["treatment-as-usual", "waiting-list", "active-control", "other"]
DesignSlug = Literal[
    "randomized", "cluster-randomized", "non-randomized-controlled", "single-group-pre-post"
]
QualityRatingSlug = Literal["strong", "moderate", "weak"]

# Each outcome's instruments (the migrations write them too), in the order GET /v1/instruments
# lists them: a study's instrument is one of its outcome's.
INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "empowerment": (
        "boston-empowerment-scale",
        "dutch-empowerment-scale",
        "empowerment-scale",
        "empowerment-scale-power",
    ),
    "internalized-stigma": ("ismi", "ismi-10", "self-stigma-of-mental-illness-scale"),
    "self-efficacy": ("general-self-efficacy-scale", "mental-health-confidence-scale"),
}
OUTCOMES: tuple[str, ...] = get_args(OutcomeSlug)
CATEGORIES: tuple[str, ...] = get_args(CategorySlug)
COMPARATORS: tuple[str, ...] = get_args(ComparatorSlug)
DESIGNS: tuple[str, ...] = get_args(DesignSlug)
QUALITY_RATINGS: tuple[str, ...] = get_args(QualityRatingSlug)


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
