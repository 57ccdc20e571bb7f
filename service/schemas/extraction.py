"""Dual extraction: a second extraction of a study, its discrepancies, and agreement."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue, model_validator

from service.schemas.common import ReadModel, RequestModel
from service.schemas.studies import NonBlank

TOLERANCE = (
    "Numbers agree within 0.005 absolute or 0.1% relative; vocabulary, identifiers and RoB "
    "judgements exactly; free text is not compared."
)


class DiscrepancyRead(ReadModel):
    """One field on which the extractions differ: both values side by side."""

    id: int
    field: str = Field(examples=["outcome_results.0.data.intervention.sd"])
    kind: Literal["number", "vocabulary", "risk_of_bias"]
    first_value: JsonValue = Field(description="The study as stored (first extraction).")
    second_value: JsonValue = Field(description="The second extraction.")
    status: Literal["open", "resolved"]
    resolution: Literal["first", "second", "other"] | None
    resolved_value: JsonValue = None
    resolved_by: str | None
    reason: str | None
    resolved_version: int | None


class ExtractionRead(ReadModel):
    """A second extraction and what its comparison with the study found."""

    id: int
    study_id: int
    first_actor: str = Field(description="The key that submitted the study.")
    actor: str = Field(description="The key that made this second extraction.")
    created_at: datetime
    evidence_version: int
    compared_with_version: int = Field(description="The study revision's version compared.")
    compared_fields: int
    differing_fields: int
    tolerance: str = TOLERANCE
    discrepancies: list[DiscrepancyRead]


class ExtractionListRead(ReadModel):
    items: list[ExtractionRead]
    open_discrepancies: int = Field(description="While above 0 the study cannot be included.")


def _value_with_other_only(schema: dict[str, Any]) -> None:
    """In the JSON schema too (issue 25): a non-null value with choice=other, none otherwise."""
    schema["if"] = {"properties": {"choice": {"const": "other"}}, "required": ["choice"]}
    schema["then"] = {"required": ["value"], "properties": {"value": {"not": {"type": "null"}}}}
    schema["else"] = {"properties": {"value": {"type": "null"}}}


class ResolutionCreate(RequestModel):
    """A curator's resolution of one discrepancy: the first value, the second, or a third."""

    model_config = ConfigDict(json_schema_extra=_value_with_other_only)

    choice: Literal["first", "second", "other"]
    value: JsonValue = Field(default=None, description="The value to keep, for choice=other.")
    reason: NonBlank = Field(max_length=2000)

    @model_validator(mode="after")
    def _value_for_other(self) -> ResolutionCreate:
        if self.choice == "other" and self.value is None:
            raise ValueError("choice=other needs the value to keep")
        if self.choice != "other" and self.value is not None:
            raise ValueError("value is for choice=other only")
        return self


class ResolutionWriteRead(ReadModel):
    evidence_version: int
    discrepancy: DiscrepancyRead
    study_updated: bool = Field(description="True when the kept value changed the study.")


class PairAgreementRead(ReadModel):
    """Agreement of one pair of extractors over every study both extracted."""

    first_actor: str
    second_actor: str
    extractions: int
    fields_compared: int
    fields_agreed: int
    percent_agreement: float | None
    rob_judgements: int = Field(description="RoB domain judgements both made.")
    rob_percent_agreement: float | None
    rob_kappa: float | None = Field(
        description="Cohen's kappa on the RoB domain judgements; null when undefined."
    )


class AgreementRead(ReadModel):
    items: list[PairAgreementRead]
    method: str


def discrepancy_read(row: Any) -> DiscrepancyRead:
    return DiscrepancyRead.model_validate(row, from_attributes=True)
