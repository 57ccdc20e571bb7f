"""Helpers for the pooled-results tests: trials with a chosen effect, and short requests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient

from tests.api.studies_support import Headers
from tests.factories import Body, means, peer_group_trial, result

SD = 0.5
BASE = 3.0
# Total-score scales need totals: a mean of 3 on the GSE (10-40) is refused as implausible.
# Scaling base and SD together leaves the SMD of a shift unchanged.
SCALE_FACTOR = {"general-self-efficacy-scale": 8.0, "mental-health-confidence-scale": 20.0}


def outcome_result(
    shift: float,
    *,
    outcome: str = "empowerment",
    instrument: str = "empowerment-scale",
    n: int = 40,
    weeks: float = 12,
    label: str = "post",
) -> dict[str, Any]:
    """Means that differ by ``shift`` SDs (intervention first); a positive shift favours it."""
    factor = SCALE_FACTOR.get(instrument, 1.0)
    base, sd = BASE * factor, SD * factor
    return result(
        outcome,
        instrument,
        means(base + shift * sd, sd, n, base, sd, n),
        weeks=weeks,
        label=label,
    )


def trial(
    shift: float = 0.3,
    *,
    n: int = 40,
    results: Sequence[dict[str, Any]] | None = None,
    **fields: Any,
) -> Body:
    """A two-arm trial of ``2 n`` people; by default one empowerment result at 12 weeks."""
    body = peer_group_trial(**fields)
    body["total_randomized"] = 2 * n
    body["arms"] = [
        {"label": "Peer group", "role": "intervention", "n_randomized": n},
        {"label": "Waiting list", "role": "control", "n_randomized": n},
    ]
    body["outcome_results"] = list(results or [outcome_result(shift, n=n)])
    return body


def add_batch(client: TestClient, headers: Headers, bodies: Sequence[Body]) -> dict[str, Any]:
    """POST a batch that must be accepted; the response body."""
    response = client.post("/v1/studies/batch", json={"studies": list(bodies)}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def pooled(client: TestClient, outcome: str = "empowerment", **params: Any) -> dict[str, Any]:
    """GET an outcome's pooled result that must succeed; the response body."""
    response = client.get(f"/v1/outcomes/{outcome}/pooled", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def study_ids(answer: dict[str, Any]) -> list[int]:
    return [study["study_id"] for study in answer["studies"]]


def headline(answer: dict[str, Any]) -> dict[str, Any]:
    """Status, k and the interval of a pooled answer (None values when it is narrative)."""
    result = answer["result"] or {}
    return {
        "status": answer["status"],
        "k": answer["k"],
        "estimate": result.get("estimate"),
        "ci_lower": result.get("ci_lower"),
        "ci_upper": result.get("ci_upper"),
    }
