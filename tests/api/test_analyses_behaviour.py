"""``POST /v1/analyses``: degenerate input, field-level errors and invariances over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from service.main import create_app
from service.settings import Settings

ALL_SECTIONS = [
    "egger",
    "begg",
    "trim_and_fill",
    "failsafe",
    "leave_one_out",
    "influence",
    "cumulative",
    "subgroups",
    "meta_regression",
]
COMPARISON = {"label": "a", "n1": 10, "mean1": 1, "sd1": 1, "n2": 10, "mean2": 0, "sd2": 1}
INVARIANT_FIELDS = ["estimate", "se", "tau2", "i2", "h2", "q", "ci_lower", "ci_upper"]


@pytest.fixture(scope="module")
def stateless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    unused = Path(tmp_path_factory.mktemp("unused")) / "never.sqlite3"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{unused}"))) as client:
        yield client


def post(client: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post("/v1/analyses", json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def effect(label: str, yi: float, vi: float, **extra: Any) -> dict[str, Any]:
    return {"label": label, "yi": yi, "vi": vi, **extra}


def test_one_study_is_its_own_estimate_with_heterogeneity_null(stateless: TestClient) -> None:
    body = {"effects": [effect("a", 0.3, 0.04)], "sections": ALL_SECTIONS[:7]}
    result = post(stateless, body)
    assert (result["k"], result["estimate"], result["se"]) == (1, 0.3, 0.2)
    for name in ("tau2", "tau", "i2", "h2", "q", "q_p_value", "pi_lower", "tau2_ci", "egger"):
        assert result[name] is None, name
    assert result["ci_method"] == "z"  # HKSJ needs two studies; the fallback is announced
    assert any("only one study" in warning for warning in result["warnings"])
    assert any(warning.startswith("egger:") for warning in result["warnings"])


def test_two_studies_pool_with_hksj(stateless: TestClient) -> None:
    result = post(stateless, {"effects": [effect("a", 0.2, 0.04), effect("b", 0.6, 0.09)]})
    assert (result["k"], result["df"], result["ci_method"]) == (2, 1, "hksj")
    assert result["ci_lower"] < result["estimate"] < result["ci_upper"]
    assert result["i2"] is not None


def test_equal_variances_and_identical_effects_give_zero_heterogeneity(
    stateless: TestClient,
) -> None:
    effects = [effect(str(i), 0.4, 0.05) for i in range(5)]
    result = post(stateless, {"effects": effects, "sections": ["egger", "begg"]})
    assert (result["estimate"], result["tau2"], result["i2"], result["q"]) == (0.4, 0.0, 0.0, 0.0)
    assert result["egger"] is None
    assert result["begg"] is None
    assert sum("egger:" in w or "begg:" in w for w in result["warnings"]) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"effects": [effect("a", 0.1, 0.0)]}, "effects.0.vi"),
        ({"effects": [effect("a", 0.1, -0.2)]}, "effects.0.vi"),
        ({"effects": []}, "effects"),
        ({"effects": [effect("a", 0.1, 0.1)], "level": 1.5}, "level"),
        ({"effects": [effect("a", 0.1, 0.1)], "ci_method": "knha"}, "ci_method"),
        ({"effects": [effect("a", 0.1, 0.1)], "sections": ["funnel"]}, "sections.0"),
        ({"effects": [effect("a", 0.1, 0.1)], "sections": ["subgroups"]}, "sections"),
        ({"effects": [effect("a", 0.1, 0.1)], "sections": ["meta_regression"]}, "sections"),
        ({"effects": [effect("a", 0.1, 0.1, colour="red")]}, "effects.0.colour"),
        ({"effects": [effect("a", 0.1, 0.1)], "comparisons": []}, "comparisons"),
        ({}, "body"),
        (
            {
                "comparisons": [
                    {"label": "a", "n1": 1, "mean1": 0, "sd1": 1, "n2": 5, "mean2": 1, "sd2": 1}
                ]
            },
            "comparisons.0.n1",
        ),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    stateless: TestClient, body: dict[str, Any], field: str
) -> None:
    response = stateless.post("/v1/analyses", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"effects": [effect("a", 0.1, 0.1)]}, True),
        ({"effects": [effect("a", 0.1, 0.1)], "comparisons": None}, True),
        ({"effects": None, "comparisons": [COMPARISON]}, True),
        ({"effects": [effect("a", 0.1, 0.1)], "comparisons": [COMPARISON]}, False),
        ({"effects": None, "comparisons": None}, False),
        ({"level": 0.9}, False),
    ],
)
def test_the_spec_states_exactly_one_of_effects_and_comparisons(
    stateless: TestClient, body: dict[str, Any], valid: bool
) -> None:
    """Issue 25: as if/then/else, which openapi-python-client leaves alone (a model-level
    oneOf made it drop the operation); the schema and the validator agree."""
    components = stateless.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/AnalysisRequest", "components": components}
    assert jsonschema_rs.is_valid(schema, body) is valid
    post(stateless, body, status=200 if valid else 422)


def test_repeated_labels_are_a_422_naming_the_list(stateless: TestClient) -> None:
    """Labels unique by one property: the one rule of the lists JSON Schema cannot state."""
    body = {"effects": [effect("a", 0.1, 0.1), effect("a", 0.3, 0.2)]}
    problem = post(stateless, body, status=422)
    assert [error["field"] for error in problem["errors"]] == ["effects"], problem


def test_non_finite_literals_are_rejected(stateless: TestClient) -> None:
    for literal in ("NaN", "Infinity", "-Infinity", "1e309"):
        content = '{"effects": [{"label": "a", "yi": ' + literal + ', "vi": 0.1}]}'
        response = stateless.post(
            "/v1/analyses", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, literal
        assert response.headers["content-type"] == "application/problem+json"


effects_strategy = st.lists(
    st.tuples(
        st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 3)),
        st.floats(0.001, 2, allow_nan=False).map(lambda x: round(x, 4)),
    ),
    min_size=3,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(effects_strategy, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_study_order(
    stateless: TestClient, rows: list[tuple[float, float]], rnd: Any
) -> None:
    body = {"effects": [effect(str(i), y, v) for i, (y, v) in enumerate(rows)]}
    shuffled = list(body["effects"])
    rnd.shuffle(shuffled)
    a, b = post(stateless, body), post(stateless, {"effects": shuffled})
    for name in INVARIANT_FIELDS:
        assert b[name] == pytest.approx(a[name], rel=1e-6, abs=1e-9), name


@settings(max_examples=25, deadline=None)
@given(effects_strategy)
def test_flipping_signs_flips_the_estimate_and_keeps_heterogeneity(
    stateless: TestClient, rows: list[tuple[float, float]]
) -> None:
    a = post(stateless, {"effects": [effect(str(i), y, v) for i, (y, v) in enumerate(rows)]})
    b = post(stateless, {"effects": [effect(str(i), -y, v) for i, (y, v) in enumerate(rows)]})
    assert b["estimate"] == pytest.approx(-a["estimate"], rel=1e-6, abs=1e-9)
    assert b["ci_upper"] == pytest.approx(-a["ci_lower"], rel=1e-6, abs=1e-9)
    for name in ("se", "tau2", "i2", "h2", "q"):
        assert b[name] == pytest.approx(a[name], rel=1e-6, abs=1e-9), name


@settings(max_examples=20, deadline=None)
@given(st.floats(0.01, 1000), st.integers(0, 2**32 - 1))
def test_rescaling_units_leaves_hedges_g_unchanged(
    stateless: TestClient, scale: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    comparisons = [
        {
            "label": str(i),
            "n1": int(rng.integers(5, 80)),
            "mean1": float(rng.normal(10, 3)),
            "sd1": float(rng.uniform(1, 5)),
            "n2": int(rng.integers(5, 80)),
            "mean2": float(rng.normal(9, 3)),
            "sd2": float(rng.uniform(1, 5)),
        }
        for i in range(4)
    ]
    scaled = [
        row | {key: row[key] * scale for key in ("mean1", "sd1", "mean2", "sd2")}
        for row in comparisons
    ]
    a, b = post(stateless, {"comparisons": comparisons}), post(stateless, {"comparisons": scaled})
    for x, y in zip(a["effects"], b["effects"], strict=True):
        assert y["yi"] == pytest.approx(x["yi"], rel=1e-9, abs=1e-12)
        assert y["vi"] == pytest.approx(x["vi"], rel=1e-9)
    assert b["estimate"] == pytest.approx(a["estimate"], rel=1e-6, abs=1e-9)
