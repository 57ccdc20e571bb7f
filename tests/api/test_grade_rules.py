"""The tightened GRADE rules through the API: the Egger variant against metafor, the CI level of
monitoring, and the risk-of-bias plots of a pooled answer."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.studies_support import Actors
from tests.stats.conftest import load_reference

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _effect_trial(yi: float, vi: float) -> dict[str, Any]:
    result = outcome_result(0.0, n=50)
    result["data"] = {
        "form": "effect_se", "effect": yi, "se": math.sqrt(vi),
        "positive_favours_intervention": True,
    }  # fmt: skip
    return trial(n=50, results=[result], quality_rating="strong")


def test_the_egger_variant_is_named_and_both_match_metafor(
    client: TestClient, actors: Actors
) -> None:
    # The data: dat.raudenbush1985 (tests/stats/reference/raudenbush1985.json); the p-values:
    # metafor 3.8-1, reference/egger_variants.R -> reference/egger_variants.json.
    reference = load_reference("raudenbush1985")
    metafor = json.loads((Path(__file__).parent / "reference" / "egger_variants.json").read_text())
    bodies = [_effect_trial(y, v) for y, v in zip(reference["yi"], reference["vi"], strict=True)]
    add_batch(client, actors.trusted, bodies)
    default = pooled(client)["certainty"]["domains"]["publication_bias"]
    classic = pooled(client, egger="classic")
    domain = classic["certainty"]["domains"]["publication_bias"]
    assert default["inputs"]["egger"] == "regtest"
    assert default["inputs"]["egger_p"] == pytest.approx(metafor["regtest"]["pval"], rel=1e-6)
    assert domain["inputs"]["egger"] == "classic"
    classic_p = metafor["classic"]["pval"]
    assert domain["inputs"]["egger_p"] == pytest.approx(classic_p, rel=1e-6)
    assert "Egger et al. 1997" in domain["rationale"]
    assert classic["spec"]["egger"] == "classic"
    assert "egger=classic" in classic["spec"]["canonical"]
    assert client.get("/v1/outcomes/empowerment/pooled", params={"egger": "x"}).status_code == 422


def test_monitoring_names_its_ci_level(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(s, n=60) for s in (0.3, 0.4, 0.5, 0.35)])
    halves = {}
    for alpha, level in ((0.05, 0.95), (0.01, 0.99)):
        response = client.get("/v1/outcomes/empowerment/monitoring", params={"alpha": alpha})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["ci_level"] == pytest.approx(level)
        halves[alpha] = (answer["ci_upper"] - answer["ci_lower"]) / 2
    # The same SE: the half-widths are in the ratio of the normal quantiles at 99% and 95%.
    assert halves[0.01] / halves[0.05] == pytest.approx(2.5758293035489004 / 1.959963984540054)


def test_the_inconsistency_rationale_states_the_prediction_distribution(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(s, n=60) for s in (0.1, 0.9, 0.3, 0.6, 0.2)])
    domain = pooled(client)["certainty"]["domains"]["inconsistency"]
    assert domain["inputs"]["pi_distribution"].startswith("t with k - 1 = 4 df")
    z = pooled(client, ci_method="z")["certainty"]["domains"]["inconsistency"]
    assert z["inputs"]["pi_distribution"].startswith("normal")


def _rob2(*judgements: str) -> dict[str, Any]:
    codes = ("D1", "D2", "D3", "D4", "D5")
    return {
        "tool": "rob2",
        "domains": {c: {"judgement": j} for c, j in zip(codes, judgements, strict=True)},
    }


def test_the_risk_of_bias_plots_draw_the_stored_assessments(
    client: TestClient, actors: Actors
) -> None:
    assessments = [
        _rob2("low", "low", "low", "low", "low"),
        _rob2("high", "low", "low", "low", "low"),
        _rob2("low", "some_concerns", "low", "low", "low"),
        None,
    ]
    bodies = []
    for shift, assessment in zip((0.3, 0.4, 0.5, 0.35), assessments, strict=True):
        result = outcome_result(shift, n=60)
        result["risk_of_bias"] = assessment
        bodies.append(trial(shift, n=60, results=[result]))
    add_batch(client, actors.trusted, bodies)
    studies = pooled(client)["studies"]
    response = client.get("/v1/outcomes/empowerment/risk-of-bias.svg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    ids = {
        g.get("id")
        for g in ET.fromstring(response.content).iter("{http://www.w3.org/2000/svg}g")
        if re.match(r"cell-", g.get("id") or "")
    }
    for index, study in enumerate(studies):
        overall = study["risk_of_bias"] or "no_information"
        assert f"cell-{index}-Overall-{overall}" in ids
        for code, judgement in (study["risk_of_bias_domains"] or {}).items():
            assert f"cell-{index}-{code}-{judgement}" in ids
    summary = client.get("/v1/outcomes/empowerment/risk-of-bias-summary.png")
    assert summary.status_code == 200
    assert summary.content.startswith(b"\x89PNG")
    forest = client.get("/v1/outcomes/empowerment/forest.svg").text
    assert 'id="rob-' in forest


def test_the_outcome_page_links_the_risk_of_bias_plots_once_a_study_is_assessed(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(s, n=60) for s in (0.3, 0.4, 0.5, 0.35)])
    assert "risk-of-bias.svg" not in client.get("/outcomes/empowerment").text
    result = outcome_result(0.45, n=60)
    result["risk_of_bias"] = _rob2("low", "low", "high", "low", "low")
    add_batch(client, actors.trusted, [trial(0.45, n=60, results=[result])])
    page = client.get("/outcomes/empowerment").text
    version = pooled(client)["evidence_version"]
    assert f'src="/v1/outcomes/empowerment/risk-of-bias.svg?as_of={version}"' in page
    assert f"/v1/outcomes/empowerment/risk-of-bias-summary.svg?as_of={version}" in page
