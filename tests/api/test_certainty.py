"""Certainty (GRADE) and statements on pooled answers, through GET .../pooled on both databases.

The evidence is constructed so that each rule lands on a chosen downgrade; the domain
rules themselves are tested on numbers in tests/stats/test_certainty.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

DOMAINS = ["risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias"]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _domain(answer: dict[str, Any], name: str) -> dict[str, Any]:
    domain: dict[str, Any] = answer["certainty"]["domains"][name]
    return domain


@pytest.mark.parametrize(
    ("qualities", "expected"),
    [
        (["strong"] * 4, 0),
        (["strong", "strong", "strong", "weak"], 0),  # 75% of the weight
        (["strong", "strong", "moderate", "weak"], 1),
        (["strong", "weak", "weak", "moderate"], 2),
    ],
)
def test_risk_of_bias_from_the_quality_of_the_weight(
    client: TestClient, actors: Actors, qualities: list[str], expected: int
) -> None:
    # Equal effects and sizes: equal weights, so each study carries 25%.
    add_batch(client, actors.trusted, [trial(0.4, n=60, quality_rating=q) for q in qualities])
    answer = pooled(client)
    rating = _domain(answer, "risk_of_bias")
    assert rating["downgrade"] == expected
    strong = 100 * qualities.count("strong") / 4
    assert rating["inputs"]["low_risk_weight_percent"] == pytest.approx(strong)
    assert list(answer["certainty"]["domains"]) == DOMAINS


@pytest.mark.parametrize(
    ("n", "shifts", "mid", "expected"),
    [
        (15, [0.6, 0.7, 0.65, 0.75], None, 1),  # 60 per arm < 393: one (no 63-per-arm rule)
        (250, [0.5, 0.55, 0.45, 0.5], None, 0),  # 500 per arm, CI clear of +-0.2
        (250, [0.5, 0.55, 0.45, 0.5], 0.1, 1),  # MID 0.1: 1,570 per arm needed
        (250, [0.15, 0.3, 0.2, 0.25], None, 1),  # the CI crosses +0.2
    ],
)
def test_imprecision_from_the_interval_and_the_information_size(
    client: TestClient,
    actors: Actors,
    n: int,
    shifts: list[float],
    mid: float | None,
    expected: int,
) -> None:
    add_batch(client, actors.trusted, [trial(s, n=n, quality_rating="strong") for s in shifts])
    answer = pooled(client, **({"mid": mid} if mid else {}))
    rating = _domain(answer, "imprecision")
    assert rating["downgrade"] == expected, rating["rationale"]
    assert answer["certainty"]["mid"] == (mid or 0.2)
    assert answer["spec"]["mid"] == mid


def test_inconsistency_when_the_prediction_interval_crosses_both_thresholds(
    client: TestClient, actors: Actors
) -> None:
    shifts = [0.0, 1.4, 0.1, 1.3, 0.2, 1.2, 0.3, 1.1, 0.4, 1.0, 0.5, 0.9]
    add_batch(client, actors.trusted, [trial(s, n=200, quality_rating="strong") for s in shifts])
    answer = pooled(client)
    result, rating = answer["result"], _domain(answer, "inconsistency")
    assert result["pi_lower"] < -0.2
    assert result["pi_upper"] > 0.2
    assert result["ci_lower"] > 0.2  # the CI crosses neither: two levels
    assert (rating["downgrade"], rating["inputs"]["pi_crossings"]) == (2, 2)
    assert "considerable heterogeneity" in rating["rationale"]


def test_inconsistency_when_the_prediction_interval_crosses_one_threshold(
    client: TestClient, actors: Actors
) -> None:
    shifts = [0.3, 0.9, 0.4, 0.8, 0.5, 0.7, 0.35, 0.85, 0.45, 0.75, 0.55, 0.65]
    add_batch(client, actors.trusted, [trial(s, n=200, quality_rating="strong") for s in shifts])
    answer = pooled(client)
    result, rating = answer["result"], _domain(answer, "inconsistency")
    assert -0.2 < result["pi_lower"] < 0.2 < result["ci_lower"]  # PI crosses +0.2 only
    assert (rating["downgrade"], rating["inputs"]["ci_crossings"]) == (1, 0)
    assert rating["inputs"]["pi_crossings"] == 1


def test_publication_bias_is_assessed_from_ten_studies(client: TestClient, actors: Actors) -> None:
    # Small studies with large effects, large ones with none: Egger's test sees it.
    bodies = [trial(1.2 - 0.1 * i, n=10 + 25 * i, quality_rating="strong") for i in range(12)]
    add_batch(client, actors.trusted, bodies[:9])
    nine = _domain(pooled(client), "publication_bias")
    assert (nine["downgrade"], nine["judgement"]) == (0, "not_assessed")
    assert "only 9 studies" in nine["rationale"]
    add_batch(client, actors.trusted, bodies[9:])
    answer = pooled(client)
    twelve = _domain(answer, "publication_bias")
    assert answer["result"]["egger"]["p_value"] < 0.10
    assert (twelve["downgrade"], twelve["judgement"]) == (1, "serious")


def test_level_and_statement_of_a_pooled_answer(client: TestClient, actors: Actors) -> None:
    # Strong, consistent, but 120 per arm: imprecision one level -> moderate.
    add_batch(
        client,
        actors.trusted,
        [trial(s, n=60, quality_rating="strong") for s in (0.45, 0.4, 0.5, 0.45)],
    )
    answer = pooled(client)
    certainty, result = answer["certainty"], answer["result"]
    downgrades = {name: d["downgrade"] for name, d in certainty["domains"].items()}
    assert downgrades == dict.fromkeys(DOMAINS, 0) | {"imprecision": 1}
    assert certainty["level"] == "moderate"
    assert certainty["reviewed"] == []
    g, lower, upper = result["estimate"], result["ci_lower"], result["ci_upper"]
    assert answer["statement"]["text"] == (
        "Peer support probably increases empowerment slightly "
        f"(g = {g:.2f}, 95% CI {lower:.2f} to {upper:.2f}; 4 trials, 480 participants; "
        "moderate certainty)."
    )
    assert answer["statement"]["plain_language"].startswith(
        "Peer support probably increases empowerment slightly. We are moderately confident"
    )


def test_a_benefit_on_internalized_stigma_is_a_reduction(
    client: TestClient, actors: Actors
) -> None:
    results = [
        [outcome_result(shift, outcome="internalized-stigma", instrument="ismi", n=40)]
        for shift in (-0.5, -0.4, -0.6, -0.3)
    ]
    add_batch(
        client, actors.trusted, [trial(n=40, results=r, quality_rating="strong") for r in results]
    )
    answer = pooled(client, "internalized-stigma")
    assert answer["result"]["estimate"] > 0  # harmonised: positive favours peer support
    assert " reduce" in answer["statement"]["text"]
    assert "internalized stigma" in answer["statement"]["text"]


def test_narrative_answers_have_a_statement_and_no_certainty(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(0.3), trial(0.2), trial(-0.1)])
    answer = pooled(client)
    assert answer["status"] == "insufficient_evidence"
    assert answer["certainty"] is None
    assert answer["statement"]["text"].startswith(
        "Too few randomized trials exist to pool the effect of peer support on empowerment "
        "(3; the review pools from 4). Of 3 studies, 2 point to a benefit of peer support (but "
        "every confidence interval includes no effect), 1 to the comparator (but its confidence "
        "interval includes no effect)"
    )
    directions = answer["narrative"]["directions"]
    assert directions["favours_intervention"] == 2
    assert directions["favours_intervention_ci_excludes_zero"] == 0
    assert all(s["ci_lower"] < 0 < s["ci_upper"] for s in answer["studies"])
    assert (
        "in none does the confidence interval exclude no effect"
        in (answer["statement"]["plain_language"])
    )


def test_mid_out_of_range_is_a_422_naming_it(client: TestClient) -> None:
    response = client.get("/v1/outcomes/empowerment/pooled", params={"mid": 0})
    assert response.status_code == 422
    assert "mid" in response.text
