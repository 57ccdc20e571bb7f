"""Risk of bias of one study result: the overall judgement from the domain judgements.

Two tools are accepted:

- **RoB 2** (Sterne et al. 2019, BMJ 366:l4898; Higgins et al., RoB 2 guidance, 22 Aug 2019),
  per result, with five domains ``D1`` randomization process, ``D2`` deviations from the
  intended interventions (effect of interest: assignment or adherence), ``D3`` missing outcome
  data, ``D4`` measurement of the outcome, ``D5`` selection of the reported result, and for
  cluster-randomized trials ``D1b`` identification or recruitment of participants into clusters
  (Eldridge et al. 2021, RoB 2 for cluster-randomized trials). Each is ``low``,
  ``some_concerns`` or ``high``. The overall judgement (RoB 2 guidance, Table 2): low when every
  domain is low; high when any is high; otherwise some concerns. The guidance lets the assessor
  judge "some concerns in multiple domains in a way that substantially lowers confidence in the
  result" as high: :func:`rob2_overall` does so only when asked, with at least two domains at
  some concerns and none high.
- **RoB 1** (Cochrane 2011 tool, Higgins et al. 2011, BMJ 343:d5928), for older trials: seven
  domains judged ``low``, ``unclear`` or ``high``; the summary across domains follows the
  Handbook 5.1 (Table 8.7.a): low when every domain is low, high when any is high, otherwise
  unclear.

The module is pure; the service validates input with it and plots read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Tool(StrEnum):
    ROB2 = "rob2"
    ROB1 = "rob1"


ROB2_DOMAINS: dict[str, str] = {
    "D1": "Randomization process",
    "D1b": "Identification or recruitment of participants into clusters",
    "D2": "Deviations from the intended interventions",
    "D3": "Missing outcome data",
    "D4": "Measurement of the outcome",
    "D5": "Selection of the reported result",
}
ROB2_REQUIRED = ("D1", "D2", "D3", "D4", "D5")
ROB2_OPTIONAL = ("D1b",)  # cluster-randomized trials only
ROB2_JUDGEMENTS = ("low", "some_concerns", "high")

ROB1_DOMAINS: dict[str, str] = {
    "random_sequence_generation": "Random sequence generation",
    "allocation_concealment": "Allocation concealment",
    "blinding_participants_personnel": "Blinding of participants and personnel",
    "blinding_outcome_assessment": "Blinding of outcome assessment",
    "incomplete_outcome_data": "Incomplete outcome data",
    "selective_reporting": "Selective reporting",
    "other_bias": "Other bias",
}
ROB1_JUDGEMENTS = ("low", "unclear", "high")

ROB2_RULE = (
    "RoB 2 overall (Sterne et al. 2019; RoB 2 guidance Table 2): low if every domain is low; "
    "high if any domain is high; otherwise some concerns; a curator may judge some concerns in "
    "two or more domains as high, with a reason"
)
ROB1_RULE = (
    "RoB 1 summary (Cochrane Handbook 5.1, Table 8.7.a): low if every domain is low; high if "
    "any domain is high; otherwise unclear"
)


class RiskOfBiasError(ValueError):
    """An assessment that the tool does not allow (unknown domain, judgement or raise)."""


@dataclass(frozen=True, slots=True)
class Overall:
    """The overall judgement: ``by_algorithm`` from the domains, ``judgement`` after a raise."""

    judgement: str
    by_algorithm: str
    raised: bool
    rule: str


def domains_of(tool: Tool) -> dict[str, str]:
    """The domain codes of ``tool`` and their names."""
    return ROB2_DOMAINS if tool is Tool.ROB2 else ROB1_DOMAINS


def judgements_of(tool: Tool) -> tuple[str, ...]:
    """The judgements ``tool`` allows, best first."""
    return ROB2_JUDGEMENTS if tool is Tool.ROB2 else ROB1_JUDGEMENTS


def check_domains(tool: Tool, judgements: Mapping[str, str]) -> None:
    """Raise :class:`RiskOfBiasError` unless ``judgements`` has exactly the tool's domains."""
    known = domains_of(tool)
    required = ROB2_REQUIRED if tool is Tool.ROB2 else tuple(known)
    unknown = sorted(set(judgements) - set(known))
    missing = [d for d in required if d not in judgements]
    if unknown or missing:
        raise RiskOfBiasError(
            f"{tool.value} domains: unknown {unknown or 'none'}, missing {missing or 'none'}; "
            f"expected {', '.join(required)}"
            + (" and, for cluster trials, D1b" if tool is Tool.ROB2 else "")
        )
    allowed = judgements_of(tool)
    wrong = {d: j for d, j in judgements.items() if j not in allowed}
    if wrong:
        raise RiskOfBiasError(f"{tool.value} judgements must be one of {allowed}: {wrong}")


def _worst_first(values: list[str], *, low: str, high: str, middle: str) -> str:
    if any(v == high for v in values):
        return high
    if all(v == low for v in values):
        return low
    return middle


def rob2_overall(judgements: Mapping[str, str], *, raise_to_high: bool = False) -> Overall:
    """RoB 2's overall judgement; ``raise_to_high``: the guidance's raise for many concerns."""
    check_domains(Tool.ROB2, judgements)
    values = list(judgements.values())
    algorithm = _worst_first(values, low="low", high="high", middle="some_concerns")
    if not raise_to_high:
        return Overall(algorithm, algorithm, False, ROB2_RULE)
    concerns = values.count("some_concerns")
    if algorithm != "some_concerns" or concerns < 2:
        raise RiskOfBiasError(
            "only some concerns in two or more domains (and no high) may be raised to high; "
            f"the domains give {algorithm} with {concerns} at some concerns"
        )
    return Overall("high", algorithm, True, ROB2_RULE)


def rob1_overall(judgements: Mapping[str, str]) -> Overall:
    """The Cochrane 2011 tool's summary across domains."""
    check_domains(Tool.ROB1, judgements)
    summary = _worst_first(list(judgements.values()), low="low", high="high", middle="unclear")
    return Overall(summary, summary, False, ROB1_RULE)


def overall(tool: Tool, judgements: Mapping[str, str], *, raise_to_high: bool = False) -> Overall:
    """The overall judgement of an assessment made with ``tool``."""
    if tool is Tool.ROB1:
        if raise_to_high:
            raise RiskOfBiasError("a raise to high is a RoB 2 rule; RoB 1 has none")
        return rob1_overall(judgements)
    return rob2_overall(judgements, raise_to_high=raise_to_high)


def is_low(judgement: str | None) -> bool:
    """Whether an overall judgement (either tool) counts as low risk of bias."""
    return judgement == "low"
