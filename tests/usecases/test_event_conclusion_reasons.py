"""Event conclusion.changed reasons on constructed headlines: each fires for its change only."""

from __future__ import annotations

from typing import Any

import pytest

from service.usecases.events.conclusions import REASON_DETECTORS, Reason, conclusion_reasons


def pooled(estimate: float, low: float, high: float) -> dict[str, Any]:
    return {"status": "pooled", "k": 5, "estimate": estimate, "ci_lower": low, "ci_upper": high}


NARRATIVE = {"status": "insufficient_evidence", "k": 2, "estimate": None}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (NARRATIVE, pooled(0.3, 0.1, 0.5), [Reason("status", "insufficient_evidence", "pooled")]),
        (pooled(0.3, 0.1, 0.5), NARRATIVE, [Reason("status", "pooled", "insufficient_evidence")]),
        (
            pooled(0.3, 0.1, 0.5),
            pooled(0.3, -0.1, 0.7),
            [Reason("significance", "significant", "not_significant")],
        ),
        (
            pooled(0.45, -0.1, 1.0),
            pooled(0.55, -0.1, 1.2),
            [Reason("magnitude", "small", "moderate")],
        ),
        (pooled(0.1, -0.5, 0.7), pooled(0.19, -0.5, 0.7), []),  # trivial both times
        (pooled(0.8, 0.1, 1.5), pooled(0.79, 0.1, 1.5), [Reason("magnitude", "large", "moderate")]),
        (
            pooled(0.1, -0.3, 0.5),
            pooled(-0.1, -0.5, 0.3),
            [Reason("direction", "favours_peer_support", "favours_comparator")],
        ),
        (pooled(0.3, 0.1, 0.5), pooled(0.31, 0.11, 0.52), []),  # numbers moved, conclusion did not
        (NARRATIVE, {**NARRATIVE, "k": 3}, []),
    ],
)
def test_each_reason_fires_for_its_change(
    before: dict[str, Any], after: dict[str, Any], expected: list[Reason]
) -> None:
    assert conclusion_reasons(before, after) == expected


def test_several_reasons_come_in_detector_order() -> None:
    reasons = conclusion_reasons(pooled(0.6, 0.2, 1.0), pooled(-0.25, -0.6, 0.1))
    assert [r.code for r in reasons] == ["significance", "magnitude", "direction"]


def test_a_later_reason_is_one_more_detector() -> None:
    def certainty(before: Any, after: Any) -> Reason | None:
        return Reason("certainty", "low", "moderate")

    reasons = conclusion_reasons(NARRATIVE, NARRATIVE, [*REASON_DETECTORS, certainty])
    assert reasons == [Reason("certainty", "low", "moderate")]
