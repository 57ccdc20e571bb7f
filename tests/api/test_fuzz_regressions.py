"""Regression tests for what fuzzing found (tests/api/test_fuzz.py, test_numerical_safety.py).

The document's own checks read the committed OpenAPI document, which tests/test_openapi.py
holds equal to the app's: a regression in the app fails here once the document is refreshed,
and there until it is."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.spec import spec_document

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    "effects",
    [
        # A denormal variance: its weight overflowed inside the tau2 estimator (500).
        [{"label": "0", "vi": 5e-324, "yi": 0.0}],
        # Tiny variances: the typical within-study variance for I2 overflowed (500).
        [{"label": "a", "vi": 1e-300, "yi": 0.0}, {"label": "b", "vi": 1e-300, "yi": 1.0}],
    ],
)
def test_variances_beyond_double_precision_are_a_422(
    client: TestClient, effects: list[dict[str, Any]]
) -> None:
    response = client.post("/v1/analyses", json={"effects": effects})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "effects"


NEAR_ZERO_VARIANCE = [
    {"label": "a", "yi": -1.175494351e-38, "vi": 0.4637873786608803},
    {"label": "b", "yi": 1e-5, "vi": 1e-150},
]


def test_begg_with_a_variance_near_zero_is_null_with_a_warning(client: TestClient) -> None:
    """Found by the numerical property test: vi - var(b) rounded to 0, Kendall's S got a NaN."""
    body = {"effects": NEAR_ZERO_VARIANCE, "sections": ["begg"], "estimator": "EE"}
    response = client.post("/v1/analyses", json=body)
    assert response.status_code == 200
    assert response.json()["begg"] is None
    assert any(w.startswith("begg:") for w in response.json()["warnings"])


@pytest.mark.parametrize("estimator", ["ML", "REML"])
def test_likelihood_estimators_survive_information_rounding_to_zero(
    client: TestClient, estimator: str
) -> None:
    """Found by the property test: sqrt(2 / information) with information <= 0 (500)."""
    body = {"effects": NEAR_ZERO_VARIANCE, "estimator": estimator}
    response = client.post("/v1/analyses", json=body)
    assert response.status_code in (200, 422)
    assert response.headers["content-type"] in ("application/json", PROBLEM)


def test_extreme_but_representable_inputs_still_analyse(client: TestClient) -> None:
    effects = [{"label": "a", "vi": 1e-8, "yi": 0.1}, {"label": "b", "vi": 1e-8, "yi": 0.2}]
    response = client.post("/v1/analyses", json={"effects": effects})
    assert response.status_code == 200
    assert response.json()["estimate"] == pytest.approx(0.15)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    paths = document["paths"].items()
    return [(path, method, op) for path, ops in paths for method, op in ops.items()]


def test_every_error_is_documented_as_problem_json() -> None:
    """FastAPI documented 422s as application/json HTTPValidationError; they are problems."""
    document = spec_document()
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status == "default" or status[0] in "45":
                assert list(response["content"]) == [PROBLEM], (method, path, status)
        assert "default" in operation["responses"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_reads_are_documented_as_open_to_anonymous_clients() -> None:
    """Reads work without a key (unless configured otherwise): no security requirement, so
    that generated clients call them without credentials; writes and audit need one
    (tests/api/test_access_matrix.py checks every operation against the service)."""
    operations = _operations(spec_document())
    security = {(method, path): op.get("security") for path, method, op in operations}
    assert security[("get", "/v1/studies")] is None
    assert security[("post", "/v1/studies")] == [{"ApiKey": []}]
    assert security[("get", "/v1/audit")] == [{"ApiKey": []}]
