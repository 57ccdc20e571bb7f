"""Certainty of evidence (GRADE), statements, curator judgements and sequential monitoring."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from service.schemas.common import ReadModel, RequestModel
from service.schemas.pooled_summary import PooledChangeRead, PooledSummaryRead
from service.schemas.studies import Reason
from service.schemas.vocabulary import CategorySlug

CertaintyLevel = Literal["high", "moderate", "low", "very_low"]
DomainName = Literal[
    "risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias"
]
DOMAIN_NAMES: tuple[DomainName, ...] = (
    "risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias",
)  # fmt: skip
InputValue = float | int | str | bool | None


class DomainRead(ReadModel):
    """One GRADE domain: how many levels it downgrades, by which rule, on which numbers."""

    downgrade: int = Field(ge=0, le=2)
    judgement: str = Field(
        description="not_serious, serious, very_serious, or not_assessed (no downgrade)."
    )
    rule: str = Field(description="The rule applied, with its source.")
    rationale: str = Field(description="The rule applied to this answer's numbers.")
    inputs: dict[str, InputValue]
    judged_by: str | None = Field(
        default=None, description="The curator whose judgement replaced the rule; null: the rule."
    )


class ReviewedRead(ReadModel):
    """A curator's judgement of one domain, as applied to this answer."""

    domain: DomainName
    downgrade: int
    reason: str
    actor: str
    judged_at_version: int = Field(description="The evidence version the judgement was made at.")
    outdated: bool = Field(
        description="True when the judgement was made at an older evidence version than the "
        "answer's: the evidence may have changed since a person looked at it."
    )
    rule_downgrade: int = Field(description="What the rule alone would have given.")


class CertaintyRead(ReadModel):
    """GRADE certainty of the pooled estimate: high minus the domains' downgrades."""

    level: CertaintyLevel
    start: Literal["high"] = Field(description="Randomized evidence starts at high.")
    mid: float = Field(description="The minimal important difference (SMD) the rules used.")
    domains: dict[DomainName, DomainRead]
    reviewed: list[ReviewedRead] = Field(description="The domains a person judged.")


class CellCertaintyRead(ReadModel):
    """A summary-table cell's certainty: the level, and which domains lowered it.

    The same as the ``certainty`` of the cell's own answer (``GET /v1/outcomes/{outcome}/pooled``
    with the same options and ``category``), where each domain's rule and numbers are.
    """

    level: CertaintyLevel
    downgraded: list[DomainName] = Field(description="The domains that downgraded, if any.")


class StatementRead(ReadModel):
    """The answer in one sentence (GRADE informative statements, Santesso et al. 2020)."""

    text: str = Field(description="The statement with its numbers.")
    plain_language: str = Field(description="The statement and what its certainty means.")


class JudgementCreate(RequestModel):
    """A curator's judgement of one GRADE domain of one outcome (and category)."""

    category: CategorySlug | None = Field(
        default=None, description="One intervention category; null: the outcome overall."
    )
    domain: DomainName
    downgrade: int = Field(ge=0, le=2, description="Levels to downgrade: 0, 1 or 2.")
    reason: Reason


class JudgementRead(ReadModel):
    """A stored judgement; valid over the evidence versions [valid_from, valid_to)."""

    id: int
    outcome: str = Field(validation_alias="outcome_slug")
    category: str | None = Field(validation_alias="category_slug")
    domain: DomainName
    downgrade: int
    reason: str
    actor: str
    created_at: datetime
    valid_from: int
    valid_to: int | None


class JudgementWriteRead(ReadModel):
    """The new evidence version and the judgement it recorded."""

    evidence_version: int
    judgement: JudgementRead
    replaced: JudgementRead | None = Field(description="The judgement this one closed.")


class JudgementListRead(ReadModel):
    """Every judgement of one outcome and category, oldest first (current: valid_to null)."""

    items: list[JudgementRead]


class PreviewSideRead(ReadModel):
    """One cell's answer before or after the previewed write."""

    summary: PooledSummaryRead
    certainty: CertaintyRead | None
    statement: StatementRead | None


class PreviewCellRead(ReadModel):
    """What the studies would change in one outcome and category (null: all categories)."""

    outcome: str
    category: str | None
    before: PreviewSideRead
    after: PreviewSideRead
    conclusion_changed: bool
    reasons: list[str] = Field(
        description="status, certainty, statement, significance: what would change."
    )


class PreviewRead(ReadModel):
    """A what-if: the studies as if written and included; nothing was stored."""

    stored: Literal[False] = False
    evidence_version: int = Field(description="The version the write would have been.")
    pooled_changes: list[PooledChangeRead] = Field(
        description="Exactly what the write's own pooled_changes would say."
    )
    cells: list[PreviewCellRead]
