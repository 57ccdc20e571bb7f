"""The Bayesian block of a pooled answer in the R script and the forest plot (issue 29).

The R script recomputes the posterior in base R (``integrate`` over log tau, QUADPACK's adaptive
rule; no bayesmeta), independently of the service's Gauss-Legendre panels, and must print the
answer's numbers to 1e-6 relative. The forest plot's Bayesian diamond is the answer's own numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.plots.text import effect_with_interval
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, trial
from tests.api.rscript_support import run_r
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]


@pytest.fixture
def stored(client: TestClient, make_key: MakeKey, auth: Auth) -> None:
    """Five trials, one with two instruments (averaged at r = 0.5 before the Bayesian fit)."""
    two = trial(
        results=[outcome_result(0.25), outcome_result(0.5, instrument="boston-empowerment-scale")]
    )
    bodies = [two, trial(0.1, n=30), trial(0.7, n=25), trial(0.35, n=60), trial(-0.05, n=45)]
    add_batch(client, Actors(make_key, auth).trusted, bodies)


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tau_prior": "cochrane_smd", "effect_prior_sd": 1.0, "mid": 0.3},
        {"tau_prior": "rhodes_mental_health", "level": 0.9},
        {"tau_prior": "half_cauchy", "tau_scale": 0.3},
    ],
)
def test_the_r_script_reproduces_the_posterior_without_bayesmeta(
    client: TestClient, tmp_path: Path, params: dict[str, Any]
) -> None:
    query = {"bayes": "true", **params}
    block = pooled(client, **query)["bayes"]
    script = client.get("/v1/outcomes/empowerment/pooled/script.R", params=query)
    assert script.status_code == 200, script.text
    assert "library(bayesmeta)" not in script.text
    printed = run_r(script.text, tmp_path)
    for name in ("mean", "median", "ci_lower", "ci_upper"):
        assert printed[f"bayes_mu_{name}"] == pytest.approx(block["mu"][name], rel=1e-6), name
    assert printed["bayes_p_benefit"] == pytest.approx(block["p_benefit"], rel=1e-6)
    assert printed["bayes_p_benefit_gt_mid"] == pytest.approx(block["p_benefit_gt_mid"], rel=1e-6)


@pytest.mark.usefixtures("stored")
def test_a_script_without_bayes_has_no_posterior(client: TestClient) -> None:
    script = client.get("/v1/outcomes/empowerment/pooled/script.R").text
    assert "bayes_mu_median" not in script


@pytest.mark.usefixtures("stored")
def test_the_forest_plot_shows_the_posterior_with_its_priors(client: TestClient) -> None:
    query = {"bayes": "true", "tau_prior": "cochrane_smd", "effect_prior_sd": "1"}
    svg = client.get("/v1/outcomes/empowerment/forest.svg", params=query)
    assert svg.status_code == 200, svg.text
    block = pooled(client, **query)["bayes"]
    mu = block["mu"]
    assert "Bayesian RE (median, 95% CrI)" in svg.text
    assert effect_with_interval(mu["median"], mu["ci_lower"], mu["ci_upper"]) in svg.text
    assert "tau ~ InvGamma(1.51, 0.23) (Cochrane SMD), effect prior N(0, 1²)" in svg.text
    assert f"P(g &gt; 0.2) = {block['p_benefit_gt_mid']:.3f}" in svg.text
    assert re.search(rb'<g id="diamond-bayes-\d+"', svg.content)
    plain = client.get("/v1/outcomes/empowerment/forest.svg").text
    assert "Bayesian" not in plain
