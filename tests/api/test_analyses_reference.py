"""``POST /v1/analyses`` against metafor 3.8-1: every number of every reference file, over HTTP.

The engine tests (tests/stats/) check the same numbers through the Python API; these check that
nothing is lost or renamed on the way to JSON. The endpoint is stateless, so these tests use an
app whose database is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings
from tests.stats.conftest import DATASETS, assert_close, load_reference

TESTS = {"z": "z", "knha": "hksj", "t": "t"}
CORE_FIELDS = [
    ("estimate", "estimate"),
    ("se", "se"),
    ("statistic", "stat"),
    ("p_value", "pval"),
    ("ci_lower", "ci_lb"),
    ("ci_upper", "ci_ub"),
    ("pi_lower", "pi_lb"),
    ("pi_upper", "pi_ub"),
    ("tau2", "tau2"),
    ("se_tau2", "se_tau2"),
    ("i2", "I2"),
    ("h2", "H2"),
    ("q", "Q"),
    ("q_p_value", "Q_pval"),
]


@pytest.fixture(scope="module")
def stateless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # A database URL that is never connected to: the analyses endpoint must not need one.
    never_created = Path(tmp_path_factory.mktemp("unused")) / "never.sqlite3"
    # No webhook delivery thread either: it polls the database by design.
    settings = Settings(
        database_url=f"sqlite:///{never_created}",
        webhooks_deliver_in_api=False,
        conclusions_in_api=False,
    )
    with TestClient(create_app(settings)) as client:
        yield client
    assert not never_created.exists()


def effects(ref: dict[str, Any], order: list[int] | None = None) -> list[dict[str, Any]]:
    rows = [
        {"label": f"{i}: {label}", "yi": y, "vi": v}
        for i, (label, y, v) in enumerate(zip(ref["labels"], ref["yi"], ref["vi"], strict=True))
    ]
    return rows if order is None else [rows[i] for i in order]


def analyse(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/analyses", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def fit_cases() -> list[Any]:
    return [
        pytest.param(name, i, id=f"{name}-{fit['method']}-{fit['test']}")
        for name in DATASETS
        for i, fit in enumerate(load_reference(name)["fits"])
    ]


@pytest.mark.parametrize(("dataset", "index"), fit_cases())
def test_every_fit_matches_metafor(stateless: TestClient, dataset: str, index: int) -> None:
    ref = load_reference(dataset)
    expected = ref["fits"][index]
    body = {"effects": effects(ref), "estimator": expected["method"]}
    result = analyse(stateless, body | {"ci_method": TESTS[expected["test"]]})
    assert result["k"] == expected["k"]
    assert result["df"] == expected["df"]
    assert result["q_df"] == expected["Q_df"]
    for ours, theirs in CORE_FIELDS:
        if expected["method"] == "EE" and theirs in ("tau2", "se_tau2"):
            continue  # metafor reports tau2 = 0 for EE; we report 0 too, checked below
        assert_close(result[ours], expected[theirs], what=f"{dataset} {ours}")
    if expected["method"] == "EE":
        assert result["tau2"] == 0.0
    else:
        for ours, theirs in [("tau2_ci", "tau2_ci"), ("i2_ci", "I2_ci"), ("h2_ci", "H2_ci")]:
            assert_close(result[ours], expected[theirs], what=f"{dataset} {ours}")
    assert_close([e["yi"] for e in result["effects"]], ref["yi"], what="yi")
    assert sum(e["weight"] for e in result["effects"]) == pytest.approx(100.0)


# The datasets published as arm summaries (the others are given as effect sizes).
ARM_DATASETS = [name for name in DATASETS if load_reference(name)["input"]["kind"] == "means"]


@pytest.mark.parametrize("dataset", ARM_DATASETS)
def test_comparisons_reproduce_escalc(stateless: TestClient, dataset: str) -> None:
    ref = load_reference(dataset)
    arms = ref["input"]
    for variance_type, key in [
        ("LS", "vi_LS"),
        ("UB", "vi_UB"),
        ("LS2", "vi_LS2"),
        ("AV", "vi_AV"),
    ]:
        comparisons = [
            {"label": str(i), "n1": n1, "mean1": m1, "sd1": s1, "n2": n2, "mean2": m2, "sd2": s2}
            for i, (n1, m1, s1, n2, m2, s2) in enumerate(
                zip(*(arms[c] for c in ("n1", "m1", "sd1", "n2", "m2", "sd2")), strict=True)
            )
        ]
        body = {"comparisons": comparisons, "variance_type": variance_type}
        result = analyse(stateless, body)
        assert_close([e["yi"] for e in result["effects"]], arms["yi"], what="yi")
        assert_close([e["vi"] for e in result["effects"]], arms[key], what=key)


@pytest.mark.parametrize("dataset", DATASETS)
def test_small_study_sections_match_metafor(stateless: TestClient, dataset: str) -> None:
    ref = load_reference(dataset)
    body = {"effects": effects(ref), "ci_method": "z", "sections": ["egger", "begg", "failsafe"]}
    result = analyse(stateless, body)
    assert_close(result["egger"]["statistic"], ref["egger"]["stat"], what="egger z")
    assert_close(result["egger"]["p_value"], ref["egger"]["pval"], what="egger p")
    assert_close(result["egger"]["limit_estimate"], ref["egger"]["limit_estimate"], what="limit")
    classic = ref["egger_classic"]
    assert result["egger_classic"]["df"] == classic["df"]
    assert_close(result["egger_classic"]["statistic"], classic["stat"], what="classic t")
    assert_close(result["egger_classic"]["p_value"], classic["pval"], what="classic p")
    assert_close(
        result["egger_classic"]["limit_estimate"], classic["intercept_limit"], what="classic b0"
    )
    assert_close(result["begg"]["kendall_tau"], ref["begg"]["kendall_tau"], what="tau")
    assert_close(result["begg"]["p_value"], ref["begg"]["pval"], what="begg p")
    assert result["failsafe_n"] == ref["failsafe_rosenthal"]["n"]


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("method", ["REML", "DL", "EE"])
def test_trim_and_fill_section_matches_metafor(
    stateless: TestClient, dataset: str, method: str
) -> None:
    ref = load_reference(dataset)
    body = {"effects": effects(ref), "estimator": method, "ci_method": "z"}
    result = analyse(stateless, body | {"sections": ["trim_and_fill"]})["trim_and_fill"]
    expected = ref["trimfill"][method]
    assert (result["k0"], result["side"]) == (expected["k0"], expected["side"])
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_lower", "ci_lb"),
        ("ci_upper", "ci_ub"),
        ("tau2", "tau2"),
    ]:
        assert_close(result[ours], expected[theirs], what=f"trimfill {ours}")


@pytest.mark.parametrize("dataset", DATASETS)
def test_leave_one_out_and_influence_sections_match_metafor(
    stateless: TestClient, dataset: str
) -> None:
    ref = load_reference(dataset)
    body = {"effects": effects(ref), "ci_method": "z", "sections": ["leave_one_out", "influence"]}
    result = analyse(stateless, body)
    labels = [e["label"] for e in effects(ref)]
    loo, expected = result["leave_one_out"], ref["leave1out"]
    assert [row["label"] for row in loo] == labels
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_lower", "ci_lb"),
        ("ci_upper", "ci_ub"),
        ("tau2", "tau2"),
        ("i2", "I2"),
        ("q", "Q"),
    ]:
        assert_close([row[ours] for row in loo], expected[theirs], what=f"leave1out {ours}")
    influence = result["influence"]
    assert [row["label"] for row in influence] == labels
    for name in ("rstudent", "cook_d", "hat", "dffits", "cov_r", "weight"):
        column = [row[name] for row in influence]
        assert_close(column, ref["influence"][name], what=f"influence {name}")
    deleted = [row["tau2_deleted"] for row in influence]
    assert_close(deleted, ref["influence"]["tau2_del"], what="influence tau2_del")


@pytest.mark.parametrize("dataset", DATASETS)
def test_cumulative_section_follows_the_list_order(stateless: TestClient, dataset: str) -> None:
    ref = load_reference(dataset)
    expected = ref["cumulative"]
    order = [i - 1 for i in expected["order"]]
    body = {"effects": effects(ref, order), "ci_method": "z", "sections": ["cumulative"]}
    rows = analyse(stateless, body)["cumulative"]
    assert [row["label"] for row in rows] == [e["label"] for e in effects(ref, order)]
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_lower", "ci_lb"),
        ("ci_upper", "ci_ub"),
        ("tau2", "tau2"),
    ]:
        assert_close([row[ours] for row in rows], expected[theirs], what=f"cumul {ours}")
    # One study has no heterogeneity: null where metafor prints 0 (tests/stats explains the
    # deviation and the tolerance on I2 at the zero bound).
    assert rows[0]["i2"] is None
    assert_close([row["i2"] for row in rows[1:]], expected["I2"][1:], what="cumul I2", atol=1e-6)


def test_subgroup_and_regression_sections_match_metafor(stateless: TestClient) -> None:
    ref = load_reference("bangertdrowns2004")
    groups, moderators = ref["moderator_factor"]["groups"], ref["metaregression"]["moderator"]
    body = {
        "effects": [
            row | {"group": group, "moderator": moderator}
            for row, group, moderator in zip(effects(ref), groups, moderators, strict=True)
        ],
        "ci_method": "z",
        "sections": ["subgroups", "meta_regression"],
    }
    result = analyse(stateless, body)
    subgroups = result["subgroups"]
    for name, expected in ref["subgroups"].items():
        level = subgroups["levels"][name]
        assert level["k"] == expected["k"]
        for ours, theirs in [
            ("estimate", "estimate"),
            ("se", "se"),
            ("tau2", "tau2"),
            ("i2", "I2"),
        ]:
            assert_close(level[ours], expected[theirs], what=f"subgroup {name} {ours}")
    difference = ref["subgroup_difference"]
    assert subgroups["difference"]["df"] == difference["df"]
    assert_close(subgroups["difference"]["q"], difference["Q_between"], what="Q between")
    assert_close(subgroups["difference"]["p_value"], difference["pval"], what="Q between p")
    model, factor = subgroups["moderator_model"], ref["moderator_factor"]
    assert model["df"] == factor["QM_df"]
    for ours, theirs in [("qm", "QM"), ("p_value", "QM_pval"), ("tau2", "tau2"), ("r2", "R2")]:
        assert_close(model[ours], factor[theirs], what=f"moderator model {ours}")

    regression, expected = result["meta_regression"], ref["metaregression"]
    for ours, theirs in [
        ("coefficients", "coef"),
        ("se", "se"),
        ("qm", "QM"),
        ("p_value", "QM_pval"),
        ("tau2", "tau2"),
        ("r2", "R2"),
    ]:
        assert_close(regression[ours], expected[theirs], what=f"regression {ours}")
    knha = expected["knha"]
    for ours, theirs in [("coefficients", "coef"), ("se", "se"), ("f", "F"), ("p_value", "pval")]:
        assert_close(regression["hksj"][ours], knha[theirs], what=f"regression knha {ours}")
