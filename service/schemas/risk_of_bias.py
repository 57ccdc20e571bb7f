"""Risk-of-bias assessments of one study result (RoB 2, or RoB 1 for older trials).

The rules live in :mod:`service.stats.risk_of_bias`; these models carry them over the API.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from service.schemas.common import FreeText, ReadModel, RequestModel
from service.stats import risk_of_bias as rob

ToolName = Literal["rob2", "rob1"]
EffectOfInterest = Literal["assignment", "adherence"]

DOMAINS_DESCRIPTION = (
    "RoB 2: D1 randomization process, D2 deviations from intended interventions, D3 missing "
    "outcome data, D4 measurement of the outcome, D5 selection of the reported result, and D1b "
    "(identification/recruitment into clusters) for cluster trials; each low, some_concerns or "
    "high. RoB 1: random_sequence_generation, allocation_concealment, "
    "blinding_participants_personnel, blinding_outcome_assessment, incomplete_outcome_data, "
    "selective_reporting, other_bias; each low, unclear or high."
)


def _domains(tool: rob.Tool) -> dict[str, Any]:
    """``tool``'s domains in JSON Schema: its codes, the required ones, its judgements (as
    sent: the service strips them first, as the spec's DOIs are the bare form)."""
    required = rob.ROB2_REQUIRED if tool is rob.Tool.ROB2 else tuple(rob.domains_of(tool))
    return {
        "required": list(required),
        "propertyNames": {"enum": list(rob.domains_of(tool))},
        "additionalProperties": {
            "properties": {"judgement": {"enum": list(rob.judgements_of(tool))}}
        },
    }


_SOME_CONCERNS = {"properties": {"judgement": {"const": "some_concerns"}}}

_RAISED = {"required": ["raised_to_high"], "properties": {"raised_to_high": {"type": "string"}}}
# RoB 2's raise to high: no domain high and some concerns in two or more (any pair of them).
_RAISE_RULE = {
    "properties": {
        "domains": {
            "additionalProperties": {"properties": {"judgement": {"not": {"const": "high"}}}},
            "anyOf": [
                {"required": [a, b], "properties": {a: _SOME_CONCERNS, b: _SOME_CONCERNS}}
                for a, b in combinations(rob.ROB2_DOMAINS, 2)
            ],
        }
    }
}
BY_TOOL: dict[str, Any] = {
    "if": {"required": ["tool"], "properties": {"tool": {"const": rob.Tool.ROB1.value}}},
    "then": {
        "properties": {
            "domains": _domains(rob.Tool.ROB1),
            "effect_of_interest": {"type": "null"},
            "raised_to_high": {"type": "null"},
        }
    },
    "else": {
        "properties": {"domains": _domains(rob.Tool.ROB2)},
        "if": _RAISED,
        "then": _RAISE_RULE,
    },
}
"""The rules of :func:`service.stats.risk_of_bias.overall`, by tool, in the JSON Schema (issue
25). As if/then/else, not a discriminated union: ``tool`` may be omitted (RoB 2), and a
discriminator must be given; openapi-python-client leaves if/then/else alone."""


class DomainJudgement(RequestModel):
    """One domain's judgement and the text that supports it."""

    judgement: FreeText = Field(examples=["low"])
    support: FreeText | None = Field(default=None, max_length=2000)


class RiskOfBiasCreate(RequestModel):
    """A risk-of-bias assessment of one result (outcome at a time point)."""

    model_config = ConfigDict(json_schema_extra=BY_TOOL)

    tool: ToolName = "rob2"
    effect_of_interest: EffectOfInterest | None = Field(
        default=None,
        description="RoB 2 domain 2: the effect of assignment (intention to treat, the default) "
        "or of adherence (per protocol). Not used by RoB 1.",
    )
    domains: dict[str, DomainJudgement] = Field(description=DOMAINS_DESCRIPTION)
    raised_to_high: FreeText | None = Field(
        default=None,
        max_length=2000,
        description="A reason to judge some concerns in two or more domains as high overall "
        "(RoB 2 guidance); null keeps the algorithm's judgement.",
    )
    reported_overall: FreeText | None = Field(
        default=None,
        max_length=32,
        description="An overall judgement reported by the source (e.g. an imported database) "
        "that differs from the algorithm's; shown, never used (the algorithm's is).",
    )

    @model_validator(mode="after")
    def _by_the_tool(self) -> RiskOfBiasCreate:
        tool = rob.Tool(self.tool)
        if tool is rob.Tool.ROB1 and self.effect_of_interest is not None:
            raise ValueError("effect_of_interest belongs to RoB 2 domain 2; RoB 1 has none")
        if tool is rob.Tool.ROB2 and self.effect_of_interest is None:
            self.effect_of_interest = "assignment"  # RoB 2's default: intention to treat
        rob.overall(tool, self.judgements(), raise_to_high=self.raised_to_high is not None)
        return self

    def judgements(self) -> dict[str, str]:
        """Domain code -> judgement."""
        return {code: d.judgement for code, d in self.domains.items()}


class RiskOfBiasRead(ReadModel):
    """An assessment as stored, with its overall judgement by the tool's algorithm."""

    tool: ToolName
    effect_of_interest: EffectOfInterest | None
    domains: dict[str, DomainJudgement]
    raised_to_high: str | None
    reported_overall: str | None
    overall: str = Field(description="low | some_concerns | high (RoB 1: low | unclear | high).")
    overall_by_algorithm: str = Field(description="Before a curator's raise to high.")
    rule: str


def risk_of_bias_read(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """The read view of a stored assessment (the :class:`RiskOfBiasCreate` dump)."""
    if stored is None:
        return None
    body = RiskOfBiasCreate.model_validate(stored)
    tool = rob.Tool(body.tool)
    effect = body.effect_of_interest
    if tool is rob.Tool.ROB2 and effect is None:
        effect = "assignment"
    result = rob.overall(tool, body.judgements(), raise_to_high=body.raised_to_high is not None)
    return {
        **body.model_dump(),
        "effect_of_interest": effect,
        "overall": result.judgement,
        "overall_by_algorithm": result.by_algorithm,
        "rule": result.rule,
    }


def overall_of(stored: dict[str, Any] | None) -> str | None:
    """The overall judgement of a stored (already validated) assessment, or None without one."""
    if stored is None:
        return None
    judgements = {code: d["judgement"] for code, d in stored["domains"].items()}
    raised = stored.get("raised_to_high") is not None
    return rob.overall(rob.Tool(stored["tool"]), judgements, raise_to_high=raised).judgement


READ_ONLY_FIELDS = {"overall", "overall_by_algorithm", "rule"}
