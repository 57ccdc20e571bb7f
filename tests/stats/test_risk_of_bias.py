"""The RoB 2 and RoB 1 overall judgements on every combination of domain judgements."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from service.stats import risk_of_bias as rob

FIVE = ("D1", "D2", "D3", "D4", "D5")


def _all(domains: tuple[str, ...], values: tuple[str, ...]) -> list[dict[str, str]]:
    return [
        dict(zip(domains, combo, strict=True))
        for combo in itertools.product(values, repeat=len(domains))
    ]


@pytest.mark.parametrize("domains", [FIVE, ("D1", "D1b", *FIVE[1:])])
def test_rob2_overall_on_every_combination(domains: tuple[str, ...]) -> None:
    combos = _all(domains, rob.ROB2_JUDGEMENTS)
    counts = Counter(rob.rob2_overall(c).judgement for c in combos)
    n = len(domains)
    # Exactly one all-low combination; some concerns: no high and not all low; high: the rest.
    assert counts == {"low": 1, "some_concerns": 2**n - 1, "high": 3**n - 2**n}
    for combo in combos:
        values = list(combo.values())
        expected = (
            "high" if "high" in values else "low" if set(values) == {"low"} else "some_concerns"
        )
        assert rob.rob2_overall(combo).judgement == expected


def test_raise_to_high_needs_two_concerns_and_no_high() -> None:
    raised = 0
    for combo in _all(FIVE, rob.ROB2_JUDGEMENTS):
        values = list(combo.values())
        allowed = "high" not in values and values.count("some_concerns") >= 2
        if allowed:
            result = rob.rob2_overall(combo, raise_to_high=True)
            assert (result.judgement, result.by_algorithm, result.raised) == (
                "high", "some_concerns", True,
            )  # fmt: skip
            raised += 1
        else:
            with pytest.raises(rob.RiskOfBiasError):
                rob.rob2_overall(combo, raise_to_high=True)
    assert raised == 2**5 - 1 - 5  # no high, at least two concerns


def test_rob1_summary_on_every_combination() -> None:
    combos = _all(tuple(rob.ROB1_DOMAINS), rob.ROB1_JUDGEMENTS)
    counts = Counter(rob.rob1_overall(c).judgement for c in combos)
    assert counts == {"low": 1, "unclear": 2**7 - 1, "high": 3**7 - 2**7}
    with pytest.raises(rob.RiskOfBiasError, match="RoB 1 has none"):
        rob.overall(rob.Tool.ROB1, combos[0], raise_to_high=True)


@pytest.mark.parametrize(
    ("judgements", "match"),
    [
        ({"D1": "low", "D2": "low", "D3": "low", "D4": "low"}, "missing \\['D5'\\]"),
        ({**dict.fromkeys(FIVE, "low"), "D6": "low"}, "unknown \\['D6'\\]"),
        ({**dict.fromkeys(FIVE, "low"), "D3": "unclear"}, "must be one of"),
    ],
)
def test_invalid_assessments_are_refused(judgements: dict[str, str], match: str) -> None:
    with pytest.raises(rob.RiskOfBiasError, match=match):
        rob.rob2_overall(judgements)
