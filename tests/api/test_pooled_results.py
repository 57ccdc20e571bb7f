"""GET /v1/outcomes/{outcome}/pooled: the engine's numbers, the review's min_k rule, signs."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.stats import ENGINE_VERSION
from service.stats.effect_sizes import smd_from_means
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors
from tests.factories import means, one_to_one_stigma_trial, result

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

CATEGORIES = ("peer-group", "one-to-one", "peer-run-service")
SHIFTS = (0.1, 0.45, -0.2, 0.3, 0.6, 0.05, 0.25, 0.8, -0.05, 0.35, 0.15)


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _eleven_trials() -> list[dict]:
    return [
        trial(shift, n=30 + 7 * i, category=CATEGORIES[i % 3], year=2005 + i)
        for i, shift in enumerate(SHIFTS)
    ]


def test_pooled_result_equals_post_analyses_on_the_same_effects(
    client: TestClient, actors: Actors
) -> None:
    version = add_batch(client, actors.trusted, _eleven_trials())["evidence_version"]
    answer = pooled(client, sections=["cumulative", "leave_one_out"])

    assert answer["status"] == "pooled"
    assert (answer["evidence_version"], answer["engine_version"]) == (version, ENGINE_VERSION)
    assert answer["k"] == answer["k_randomized"] == len(SHIFTS)
    studies = answer["studies"]
    assert [s["year"] for s in studies] == sorted(s["year"] for s in studies)
    assert sum(s["weight"] for s in studies) == pytest.approx(100.0)
    effects = [
        {"label": s["label"], "yi": s["yi"], "vi": s["vi"], "group": s["category"]} for s in studies
    ]
    # k >= 10 brings the small-study tests; all categories bring the subgroup block.
    sections = ["egger", "begg", "leave_one_out", "cumulative", "subgroups"]
    engine = client.post("/v1/analyses", json={"effects": effects, "sections": sections})
    assert engine.status_code == 200, engine.text
    levels = answer["result"]["subgroups"]["levels"]
    # Only the pooled answer applies the review's rule to each level (k here: 4, 4 and 3).
    statuses = {name: level.pop("status") for name, level in levels.items()}
    assert statuses == {
        "peer-group": "pooled",
        "one-to-one": "pooled",
        "peer-run-service": "insufficient_evidence",
    }
    stateless = engine.json()
    for level in stateless["subgroups"]["levels"].values():
        assert level.pop("status") is None
    assert answer["result"] == stateless
    assert set(levels) == set(CATEGORIES)
    assert answer["narrative"] is None


def test_every_response_echoes_the_full_specification(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, _eleven_trials()[:4])
    answer = pooled(client, design=["randomized"], timepoint="weeks=12.0", level=0.9)
    spec = answer["spec"]
    assert spec == {
        "outcome": "empowerment",
        "category": None,
        "design": ["randomized"],
        "comparator": [],
        "min_quality": None,
        "timepoint": "weeks=12",
        "estimator": "REML",
        "ci_method": "hksj",
        "level": 0.9,
        "min_k": 4,
        "multiple": "average",
        "sections": [],
        "mid": None,
        "egger": "regtest",
        "dependence": "average",
        "multi_arm": "separate",
        "bayes": None,
        "canonical": spec["canonical"],
    }
    default = pooled(client)["spec"]
    assert default["design"] == ["cluster-randomized", "randomized"]
    assert default["timepoint"] == "post"
    assert default["canonical"] != spec["canonical"]
    # The same analysis asked for differently has the same canonical form.
    reordered = pooled(client, design=["randomized", "cluster-randomized"], level="0.950")
    assert reordered["spec"]["canonical"] == default["canonical"]
    assert pooled(client, estimator="FE")["spec"]["estimator"] == "EE"  # metafor's alias


def test_min_k_switches_between_pooled_and_narrative(client: TestClient, actors: Actors) -> None:
    bodies = [trial(0.4, year=2010), trial(-0.3, year=2011), trial(0.2, year=2012)]
    bodies.append(trial(0.5, year=2013, design="non-randomized-controlled"))
    add_batch(client, actors.trusted, bodies)

    narrative = pooled(client, design=["randomized", "non-randomized-controlled"])
    assert narrative["status"] == "insufficient_evidence"
    assert narrative["result"] is None
    assert (narrative["k"], narrative["k_randomized"]) == (4, 3)  # 4 studies, 3 randomized
    assert narrative["narrative"]["min_k"] == 4
    assert narrative["narrative"]["directions"] == {
        "k": 4,
        "favours_intervention": 3,
        "favours_intervention_ci_excludes_zero": 1,  # only g = 0.5's interval excludes 0
        "favours_control": 1,
        "favours_control_ci_excludes_zero": 0,
        "no_difference": 0,
        "sign_test_p_value": pytest.approx(0.625),  # binom.test(3, 4)$p.value
        "proportion": 0.75,
        "proportion_ci": [pytest.approx(0.1941204), pytest.approx(0.9936905)],
        "level": 0.95,
    }
    for study in narrative["studies"]:
        assert study["weight"] is None
        assert study["quality"] == "moderate"
        half = 1.959963984540054 * study["vi"] ** 0.5
        assert study["ci_lower"] == pytest.approx(study["yi"] - half)
        assert study["ci_upper"] == pytest.approx(study["yi"] + half)

    assert pooled(client, min_k=3)["status"] == "pooled"
    assert pooled(client, min_k=3)["k"] == 3


def test_no_eligible_study_is_an_empty_narrative(client: TestClient) -> None:
    answer = pooled(client, "self-efficacy")
    assert answer["status"] == "insufficient_evidence"
    assert (answer["k"], answer["participants"], answer["studies"]) == (0, 0, [])
    assert answer["narrative"]["directions"] is None


def _stigma_trial(mean1: float, mean2: float, year: int) -> dict:
    data = means(mean1, 0.45, 40, mean2, 0.50, 42)
    return one_to_one_stigma_trial(
        year=year, outcome_results=[result("internalized-stigma", "ismi", data)]
    )


def test_lower_is_better_stigma_scales_are_harmonised(client: TestClient, actors: Actors) -> None:
    pairs = [(2.10, 2.35), (2.00, 2.40), (2.30, 2.25), (1.90, 2.30)]
    add_batch(
        client, actors.trusted, [_stigma_trial(a, b, 2015 + i) for i, (a, b) in enumerate(pairs)]
    )
    answer = pooled(client, "internalized-stigma")

    raw = smd_from_means(40, [a for a, _ in pairs], 0.45, 42, [b for _, b in pairs], 0.50)
    np.testing.assert_allclose([s["yi"] for s in answer["studies"]], -raw.yi, rtol=1e-12)
    np.testing.assert_allclose([s["vi"] for s in answer["studies"]], raw.vi, rtol=1e-12)
    assert [s["instruments"] for s in answer["studies"]] == [["ismi"]] * 4
    # Less stigma with peer support is a positive, favourable effect.
    assert answer["result"]["estimate"] > 0


def test_unknown_outcome_is_404(client: TestClient) -> None:
    response = client.get("/v1/outcomes/happiness/pooled")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "empowerment" in response.json()["detail"]


def test_an_unknown_slug_is_answered_with_the_nearest(client: TestClient) -> None:
    """Issue 25: the spec enumerates the vocabulary, and FastAPI's own validation of it keeps
    the answer's advice: a misspelt outcome is still a 404 naming it, a misspelt option a 422,
    each with the nearest slug and the valid ones."""
    response = client.get("/v1/outcomes/empowerent/pooled", params={"category": "peer-grop"})
    assert response.status_code == 404, response.text
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == ["outcome"]
    assert "did you mean 'empowerment'?" in problem["detail"]
    assert "'internalized-stigma'" in problem["detail"]
    response = client.get("/v1/outcomes/empowerment/pooled", params={"category": "peer-grop"})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "category"
    assert "did you mean 'peer-group'?" in error["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "peer-dance"}, "category"),
        ({"design": "crossover"}, "design"),
        ({"comparator": "placebo-pill"}, "comparator"),
        ({"min_quality": "excellent"}, "min_quality"),
        ({"timepoint": "weeks=600"}, "timepoint"),
    ],
)
def test_unknown_options_are_422_naming_the_field(
    client: TestClient, params: dict, field: str
) -> None:
    response = client.get("/v1/outcomes/empowerment/pooled", params=params)
    assert response.status_code == 422, response.text
    # A repeated parameter's item is named with its index (design.0), as a body's list items.
    assert field in {error["field"].split(".")[0] for error in response.json()["errors"]}


def test_an_as_of_past_the_newest_version_is_404_naming_it(client: TestClient) -> None:
    """That state does not exist yet (issue 25): not a 422, and not clamped to the newest."""
    response = client.get("/v1/outcomes/empowerment/pooled", params={"as_of": 99})
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["newest_version"] == 0
    assert [error["field"] for error in problem["errors"]] == ["as_of"]


@pytest.mark.parametrize(
    "params",
    [
        {"timepoint": "baseline"},
        {"level": 1.5},
        {"min_k": 0},
        {"sections": "subgroups"},
        {"catgory": "x"},
    ],
)
def test_malformed_options_are_422(client: TestClient, params: dict) -> None:
    response = client.get("/v1/outcomes/empowerment/pooled", params=params)
    assert response.status_code == 422, response.text
