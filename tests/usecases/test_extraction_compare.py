"""Field-by-field comparison of two extractions: tolerance for numbers, vocabulary exactly."""

from __future__ import annotations

import copy

from service.usecases.extraction.compare import compare, rob_judgements
from tests.factories import peer_group_trial


def test_numbers_within_tolerance_agree_and_the_rest_is_listed() -> None:
    first = peer_group_trial()
    second = copy.deepcopy(first)
    results = second["outcome_results"]
    results[0]["data"]["intervention"]["mean"] = 2.893  # within 0.005: the same
    results[0]["data"]["intervention"]["sd"] = 0.35  # beyond it
    second["comparator"] = "treatment-as-usual"  # vocabulary: exactly
    second["title"] = "Another wording of the title"  # free text: not compared
    second["source"] = {"extracted_by": "reviewer-2"}  # who extracted: not compared
    differences, compared = compare(first, second)
    found = {(d.field, d.kind, d.first, d.second) for d in differences}
    assert found == {
        ("outcome_results.0.data.intervention.sd", "number", 0.31, 0.35),
        ("comparator", "vocabulary", "waiting-list", "treatment-as-usual"),
    }
    assert compared > 20


def test_a_field_only_one_extraction_has_is_a_discrepancy() -> None:
    first = peer_group_trial()
    second = copy.deepcopy(first)
    domains = {c: {"judgement": "low"} for c in ("D1", "D2", "D3", "D4", "D5")}
    second["outcome_results"][0]["risk_of_bias"] = {"tool": "rob2", "domains": domains}
    differences, _ = compare(first, second)
    fields = {d.field for d in differences}
    assert "outcome_results.0.risk_of_bias.domains.D3.judgement" in fields
    assert all(d.first is None and d.kind == "risk_of_bias" for d in differences)
    assert rob_judgements(second)["outcome_results.0.D3"] == "low"
    assert rob_judgements(first) == {}
