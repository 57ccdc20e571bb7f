"""The review's controlled vocabulary.

Outcomes, categories, comparators, designs, quality ratings and instruments.

Slugs are the primary keys: they are what clients send and what other tables refer to.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db.base import Base

SLUG = String(64)


class Outcome(Base):
    __tablename__ = "outcome"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    # The minimal important difference (SMD) the certainty rules use; GRADE's default 0.2.
    mid: Mapped[float] = mapped_column(Float, server_default="0.2")
    # Whether a benefit is a reduction (internalized stigma): statements say "reduces".
    lower_is_better: Mapped[bool] = mapped_column(Boolean, server_default=false())


class InterventionCategory(Base):
    __tablename__ = "intervention_category"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


class Comparator(Base):
    __tablename__ = "comparator"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


class StudyDesign(Base):
    __tablename__ = "study_design"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    randomized: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)


class QualityRating(Base):
    """Global quality ratings; ``rank`` orders them (higher is better) for ``min_quality``."""

    __tablename__ = "quality_rating"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    rank: Mapped[int] = mapped_column(Integer, unique=True)


class Instrument(Base):
    """A measurement scale of one outcome; ``higher_is_better`` drives sign harmonisation."""

    __tablename__ = "instrument"
    __table_args__ = (
        CheckConstraint(
            "scale_min IS NULL OR scale_max IS NULL OR scale_min < scale_max", name="scale_range"
        ),
    )

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    abbreviation: Mapped[str | None] = mapped_column(String(50))
    outcome_slug: Mapped[str] = mapped_column(ForeignKey("outcome.slug"), index=True)
    higher_is_better: Mapped[bool] = mapped_column(Boolean)
    scale_min: Mapped[float | None] = mapped_column(Float)
    scale_max: Mapped[float | None] = mapped_column(Float)
    # Where the range comes from (items x response range, from the instrument's publication):
    # submitted means and SDs are checked against it (service.usecases.studies.plausibility).
    scale_source: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)

    outcome: Mapped[Outcome] = relationship(lazy="raise")
