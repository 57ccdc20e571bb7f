"""The Bayesian block of a pooled answer (issue 29): GET .../pooled?bayes=true on both databases.

Each answer is checked against POST /v1/analyses with a ``bayes`` block on the same study-level
effects (the answer's own ``studies``), so the pooled wiring (priors, MID, direction) is what is
tested; the quadrature itself is tested in tests/stats/test_bayes*.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

SHIFTS = (0.5, 0.2, 0.7, 0.35, 0.6)


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _stateless(client: TestClient, answer: dict[str, Any], bayes: dict[str, Any]) -> Any:
    effects = [{"label": s["label"], "yi": s["yi"], "vi": s["vi"]} for s in answer["studies"]]
    response = client.post("/v1/analyses", json={"effects": effects, "bayes": bayes})
    assert response.status_code == 200, response.text
    return response.json()["bayes"]


def _same(pooled_block: dict[str, Any], stateless: dict[str, Any]) -> None:
    for part in ("mu", "tau", "predictive"):
        for name, value in stateless[part].items():
            assert pooled_block[part][name] == pytest.approx(value, rel=1e-9, abs=1e-12)
    for name in ("k", "mid", "p_benefit", "p_benefit_gt_mid", "mu_sd"):
        assert pooled_block[name] == pytest.approx(stateless[name], rel=1e-9, abs=1e-12)


def test_default_prior_and_the_outcome_mid_as_post_analyses(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(s, n=40) for s in SHIFTS])
    plain = pooled(client)
    assert plain["bayes"] is None
    assert "bayes" not in plain["spec"]["canonical"]  # keys and ETags of old requests unchanged
    answer = pooled(client, bayes="true")
    block = answer["bayes"]
    assert block["mid"] == 0.2  # the outcome's MID (vocabulary)
    assert block["lower_is_better"] is False  # effects are harmonised
    assert "bayes=half_normal:0.5;flat" in answer["spec"]["canonical"]
    assert answer["result"] == plain["result"]  # the frequentist headline is unchanged
    reference = _stateless(
        client, answer, {"tau_prior": {"kind": "half_normal", "scale": 0.5}, "mid": 0.2}
    )
    _same(block, reference)
    assert 0.0 < block["p_benefit_gt_mid"] < block["p_benefit"] < 1.0
    assert block["predictive"]["ci_lower"] < block["mu"]["ci_lower"]


@pytest.mark.parametrize(
    ("params", "stateless_prior"),
    [
        (
            {"tau_prior": "cochrane_smd"},
            {"kind": "inverse_gamma", "shape": 1.51, "scale": 0.23},
        ),
        (
            {"tau_prior": "rhodes_mental_health"},
            {"kind": "log_t", "location": -3.85, "scale": 1.93, "df": 5},
        ),
        ({"tau_prior": "half_cauchy", "tau_scale": 0.3}, {"kind": "half_cauchy", "scale": 0.3}),
    ],
)
def test_named_priors_and_mid_override(
    client: TestClient, actors: Actors, params: dict[str, Any], stateless_prior: dict[str, Any]
) -> None:
    add_batch(client, actors.trusted, [trial(s, n=40) for s in SHIFTS])
    answer = pooled(client, bayes="true", mid=0.5, effect_prior_sd=1.0, **params)
    reference = _stateless(
        client,
        answer,
        {
            "tau_prior": stateless_prior,
            "effect_prior": {"kind": "normal", "mean": 0.0, "sd": 1.0},
            "mid": 0.5,
        },
    )
    _same(answer["bayes"], reference)
    assert answer["bayes"]["mid"] == 0.5
    if params["tau_prior"] in ("cochrane_smd", "rhodes_mental_health"):
        # the stateless endpoint knows the same priors by the same names
        by_name = {"kind": params["tau_prior"]}
        named = _stateless(
            client,
            answer,
            {
                "tau_prior": by_name,
                "effect_prior": {"kind": "normal", "mean": 0.0, "sd": 1.0},
                "mid": 0.5,
            },
        )
        _same(answer["bayes"], named)


def test_a_reduction_in_stigma_is_a_benefit(client: TestClient, actors: Actors) -> None:
    results = [
        [outcome_result(shift, outcome="internalized-stigma", instrument="ismi", n=40)]
        for shift in (-0.5, -0.4, -0.6, -0.3)
    ]
    add_batch(client, actors.trusted, [trial(n=40, results=r) for r in results])
    block = pooled(client, "internalized-stigma", bayes="true")["bayes"]
    assert block["mu"]["median"] > 0  # harmonised: positive favours peer support
    assert block["p_benefit"] > 0.9


def test_narrative_answers_have_no_bayes_block_and_bad_priors_are_422(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(s, n=40) for s in SHIFTS[:2]])
    assert pooled(client, bayes="true")["bayes"] is None  # two trials: narrative
    for bad in ({"tau_prior": "flat"}, {"tau_scale": 0}, {"effect_prior_sd": -1}):
        response = client.get("/v1/outcomes/empowerment/pooled", params={"bayes": "true", **bad})
        assert response.status_code == 422, response.text
