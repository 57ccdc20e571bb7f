"""``POST /v1/analyses`` with effects nested in studies (three-level, CHE) and the Bayesian block.

The three-level and CHE numbers are metafor's and clubSandwich's for dat.assink2016
(tests/stats/reference/multilevel.R).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings
from tests.stats.conftest import load_reference


@pytest.fixture(scope="module")
def stateless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    unused = Path(tmp_path_factory.mktemp("unused")) / "never.sqlite3"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{unused}"))) as client:
        yield client


def _case(method: str, rho: float | None) -> dict[str, Any]:
    for case in load_reference("multilevel")["cases"]:
        case_rho = case["rho"] if isinstance(case["rho"], float) else None
        if case["name"] == "assink2016" and case["method"] == method and case_rho == rho:
            return case
    raise LookupError(method)


def _body(case: dict[str, Any], **options: Any) -> dict[str, Any]:
    effects = [
        {"label": f"{c}-{e}", "yi": y, "vi": v, "study": c}
        for y, v, c, e in zip(case["yi"], case["vi"], case["cluster"], case["esid"], strict=True)
    ]
    return {"effects": effects, "ci_method": "z", **options}


def _post(client: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post("/v1/analyses", json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def test_che_answer_matches_club_sandwich(stateless: TestClient) -> None:
    case = _case("REML", 0.6)
    result = _post(stateless, _body(case, dependence="che", rho=0.6))
    answer = result["dependence"]
    assert (answer["k_effects"], answer["k_studies"]) == (100, 17)
    assert answer["estimate"] == pytest.approx(case["estimate"], rel=1e-6)
    assert answer["robust"]["se"] == pytest.approx(case["cr2_se"], rel=1e-6)
    assert answer["robust"]["df"] == pytest.approx(case["cr2_df"], rel=1e-6)
    assert answer["sigma2_within_ci"][1] == pytest.approx(case["sigma2_ci_ub"][1], rel=1e-6)


def test_three_level_answer_matches_rma_mv(stateless: TestClient) -> None:
    case = _case("REML", None)
    answer = _post(stateless, _body(case, dependence="three_level"))["dependence"]
    assert answer["estimate"] == pytest.approx(case["estimate"], rel=1e-6)
    assert answer["se"] == pytest.approx(case["se"], rel=1e-6)
    assert answer["i2_between"] == pytest.approx(case["i2"][0], rel=1e-6)
    assert answer["lrt_within"] == pytest.approx(case["lrt_within"], rel=1e-6)
    assert answer["robust"] is None


def test_average_counts_studies_and_averages_at_r_half(stateless: TestClient) -> None:
    """The default: one effect per study, the mean of its effects at correlation r = 0.5."""
    case = _case("REML", None)
    result = _post(stateless, _body(case))
    assert (result["k"], result["k_studies"], result["k_effects"]) == (17, 17, 100)
    assert "dependence" not in result  # only with three_level or che
    first = [i for i, c in enumerate(case["cluster"]) if c == case["cluster"][0]]
    se = np.sqrt(np.array(case["vi"])[first])
    expected_vi = (0.5 * se.sum() ** 2 + 0.5 * (se**2).sum()) / len(first) ** 2
    row = result["effects"][0]
    assert row["label"] == case["cluster"][0]
    assert row["yi"] == pytest.approx(np.mean(np.array(case["yi"])[first]), rel=1e-12)
    assert row["vi"] == pytest.approx(expected_vi, rel=1e-12)


def test_bayes_block_answers_probability_beyond_mid(stateless: TestClient) -> None:
    case = _case("REML", None)
    body = _body(
        case,
        bayes={"tau_prior": {"kind": "half_normal", "scale": 0.5}, "mid": 0.2},
    )
    bayes = _post(stateless, body)["bayes"]
    assert bayes["k"] == 17
    assert 0.0 < bayes["p_benefit_gt_mid"] < bayes["p_benefit"] < 1.0
    assert bayes["mu"]["ci_lower"] < bayes["mu"]["median"] < bayes["mu"]["ci_upper"]
    assert bayes["predictive"]["ci_lower"] < bayes["mu"]["ci_lower"]
    flipped = _post(stateless, {**body, "bayes": {**body["bayes"], "lower_is_better": True}})
    assert flipped["bayes"]["p_benefit"] == pytest.approx(1.0 - bayes["p_benefit"], rel=1e-9)


def test_bad_options_are_422(stateless: TestClient) -> None:
    case = _case("REML", None)
    _post(stateless, _body(case, dependence="che", rho=1.0), status=422)
    _post(stateless, _body(case, dependence="nested"), status=422)
    body = _body(case, bayes={"tau_prior": {"kind": "half_cauchy", "scale": 0.0}})
    problem = _post(stateless, body, status=422)
    assert problem["status"] == 422
    one_study = {
        "effects": [
            {"label": "a", "yi": 0.1, "vi": 0.01, "study": "s"},
            {"label": "b", "yi": 0.3, "vi": 0.02, "study": "s"},
        ],
        "dependence": "che",
    }
    _post(stateless, one_study, status=422)


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ({"kind": "inverse_gamma"}, "needs shape and scale"),
        ({"kind": "inverse_gamma", "scale": 0.23}, "needs shape"),
        ({"kind": "log_t", "df": 5}, "needs location and scale"),
        ({"kind": "fixed"}, "needs scale"),
        ({"kind": "cochrane_smd", "shape": 1.71}, "takes no shape"),
        ({"kind": "half_normal", "location": 0.0}, "takes no location"),
    ],
)
def test_a_tau_prior_is_named_or_spelled_out_in_full(
    stateless: TestClient, prior: dict[str, Any], message: str
) -> None:
    # The old default shape (1.71 with scale 0.5) was neither the Cochrane prior nor any other.
    components = stateless.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/TauPriorInput", "components": components}
    assert not jsonschema_rs.is_valid(schema, prior)  # the spec states it too (issue 25)
    assert jsonschema_rs.is_valid(schema, {"kind": "log_t", "location": 0, "scale": 1, "df": 3})
    assert jsonschema_rs.is_valid(schema, {"scale": 0.3})  # the default kind, half_normal
    problem = _post(stateless, _body(_case("REML", None), bayes={"tau_prior": prior}), status=422)
    assert message in problem["detail"] or message in str(problem.get("errors")), problem


@pytest.mark.parametrize(
    ("name", "spelled_out"),
    [
        ("cochrane_smd", {"kind": "inverse_gamma", "shape": 1.51, "scale": 0.23}),
        ("rhodes_mental_health", {"kind": "log_t", "location": -3.85, "scale": 1.93, "df": 5}),
    ],
)
def test_named_tau_priors_are_the_documented_ones(
    stateless: TestClient, name: str, spelled_out: dict[str, Any]
) -> None:
    case = _case("REML", None)
    named = _post(stateless, _body(case, bayes={"tau_prior": {"kind": name}}))["bayes"]
    explicit = _post(stateless, _body(case, bayes={"tau_prior": spelled_out}))["bayes"]
    assert named == explicit
    half_normal = _post(stateless, _body(case, bayes={}))["bayes"]
    assert named["tau"] != half_normal["tau"]
