"""Curators' certainty judgements: one downgrade of one GRADE domain, per outcome and category.

Versioned like study revisions: a judgement is valid over the evidence versions
``[valid_from, valid_to)``; a new judgement of the same outcome, category and domain closes the
previous one. ``category_slug`` NULL is the judgement of the outcome across all categories.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UtcDateTime

DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")


class CertaintyJudgement(Base):
    """A curator's downgrade (0, 1 or 2) of one domain, with the reason."""

    __tablename__ = "certainty_judgement"
    __table_args__ = (
        CheckConstraint("downgrade BETWEEN 0 AND 2", name="downgrade"),
        CheckConstraint(f"domain IN ({', '.join(repr(d) for d in DOMAINS)})", name="domain"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        Index("ix_certainty_judgement_outcome_slug_valid_to", "outcome_slug", "valid_to"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome_slug: Mapped[str] = mapped_column(ForeignKey("outcome.slug"))
    category_slug: Mapped[str | None] = mapped_column(ForeignKey("intervention_category.slug"))
    domain: Mapped[str] = mapped_column(String(32))
    downgrade: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_from: Mapped[int] = mapped_column(ForeignKey("evidence_version.number"))
    valid_to: Mapped[int | None] = mapped_column(ForeignKey("evidence_version.number"))
