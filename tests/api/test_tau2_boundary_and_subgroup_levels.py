"""tau2 exactly 0 at the boundary, trim-and-fill with nothing filled, subgroup levels' status.

The example of issue 12: with these eight studies the REML, ML and EB likelihoods fall from
tau2 = 0 on (the score at 0 is negative), so tau2 is 0 and so are I2 and the moderator model's
tau2; R2 is then undefined (null). metafor 3.8-1 stops its Fisher scoring short of the bound
(REML tau2 4.9e-7 with its default threshold 1e-5) and reports R2 as 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings
from service.stats import bias
from service.stats.models import fit_random_effects
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

YI = [0.26, 0.43, -0.18, 0.54, 0.27, 0.23, 0.19, 0.43]
VI = [0.035, 0.03, 0.056, 0.064, 0.03, 0.039, 0.062, 0.05]


@pytest.fixture(scope="module")
def stateless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    unused = Path(tmp_path_factory.mktemp("unused")) / "never.sqlite3"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{unused}"))) as client:
        yield client


def _analysis(client: TestClient, estimator: str) -> dict[str, Any]:
    effects = [
        {"label": f"s{i}", "yi": y, "vi": v, "group": "A" if i < 4 else "B"}
        for i, (y, v) in enumerate(zip(YI, VI, strict=True))
    ]
    body = {"effects": effects, "estimator": estimator, "sections": ["subgroups"]}
    response = client.post("/v1/analyses", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize("estimator", ["REML", "ML"])
def test_tau2_is_exactly_zero_when_the_score_at_zero_is_not_positive(
    stateless: TestClient, estimator: str
) -> None:
    answer = _analysis(stateless, estimator)
    assert answer["tau2"] == 0.0
    assert answer["i2"] == 0.0
    model = answer["subgroups"]["moderator_model"]
    assert model["tau2"] == 0.0
    assert model["r2"] in (0.0, None)


def test_eb_overall_tau2_is_zero_and_its_moderator_model_matches_metafor(
    stateless: TestClient,
) -> None:
    answer = _analysis(stateless, "EB")
    assert (answer["tau2"], answer["i2"]) == (0.0, 0.0)
    # rma(yi, vi, mods = ~ g, method = "EB") gives tau2 = 0.002085808 (a positive score at 0).
    assert answer["subgroups"]["moderator_model"]["tau2"] == pytest.approx(0.002085808, rel=1e-3)
    assert answer["subgroups"]["moderator_model"]["r2"] in (0.0, None)


def test_subgroup_levels_carry_their_own_interval(stateless: TestClient) -> None:
    level = _analysis(stateless, "REML")["subgroups"]["levels"]["B"]
    fit = fit_random_effects(np.array(YI[4:]), np.array(VI[4:]), estimator="REML", ci_method="hksj")
    assert (level["ci_lower"], level["ci_upper"]) == pytest.approx((fit.ci_lower, fit.ci_upper))
    assert level["status"] is None  # no min_k rule in a stateless analysis


def test_trim_and_fill_with_nothing_filled_returns_the_fitted_model() -> None:
    y, v = np.array(YI), np.array(VI)
    for estimator in ("REML", "DL", "PM"):
        fit = fit_random_effects(y, v, estimator=estimator, ci_method="hksj")
        filled = bias.trim_and_fill(y, v, estimator=estimator, ci_method="hksj", fitted=fit)
        assert filled.k0 == 0
        assert (filled.estimate, filled.se, filled.tau2) == (fit.estimate, fit.se, fit.tau2)
        assert (filled.ci_lower, filled.ci_upper) == (fit.ci_lower, fit.ci_upper)


def test_trim_and_fill_section_equals_the_model_when_k0_is_zero(stateless: TestClient) -> None:
    effects = [
        {"label": f"s{i}", "yi": y, "vi": v} for i, (y, v) in enumerate(zip(YI, VI, strict=True))
    ]
    body = {"effects": effects, "estimator": "PM", "sections": ["trim_and_fill"]}
    answer = stateless.post("/v1/analyses", json=body).json()
    assert answer["trim_and_fill"]["k0"] == 0
    for name in ("estimate", "se", "ci_lower", "ci_upper", "tau2"):
        assert answer["trim_and_fill"][name] == answer[name]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def test_a_category_below_min_k_is_flagged_insufficient_inside_the_overall_answer(
    client: TestClient, actors: Actors
) -> None:
    bodies = [trial(0.1 * i, category="peer-group", year=2010 + i) for i in range(4)]
    bodies += [trial(0.4, category="one-to-one", year=2018), trial(0.2, category="one-to-one")]
    add_batch(client, actors.trusted, bodies)
    answer = pooled(client)
    levels = answer["result"]["subgroups"]["levels"]
    assert levels["peer-group"]["status"] == "pooled"
    assert levels["one-to-one"]["status"] == "insufficient_evidence"
    for level in levels.values():
        assert level["ci_lower"] < level["estimate"] < level["ci_upper"]
    table = client.get("/v1/pooled").json()
    cells = {(c["outcome"], c["category"]): c["status"] for c in table["cells"]}
    assert cells[("empowerment", "one-to-one")] == "insufficient_evidence"
    assert cells[("empowerment", "peer-group")] == "pooled"
