"""Every float that POST /v1/analyses returns is finite or null, whatever the study set.

A hypothesis property over random study sets, degenerate ones included (k = 1 and 2, identical
effects, equal variances, variances from 1e-300 to 1e300), every estimator and interval method,
and every section: the answer is a 200 whose numbers are all finite or null, or a 422 problem;
never a 5xx, never NaN or Infinity in the JSON. Stateless, so it needs no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.main import create_app
from service.settings import Settings
from tests.api.numbers_support import non_finite, strict_json

ESTIMATORS = ["EE", "FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM"]
SECTIONS = [
    "egger", "begg", "trim_and_fill", "failsafe", "leave_one_out", "influence",
    "cumulative", "subgroups", "meta_regression",
]  # fmt: skip
ORDINARY_EFFECT = st.floats(-5, 5, allow_nan=False)
ORDINARY_VARIANCE = st.floats(1e-3, 2.0)
EXTREME_VARIANCE = st.sampled_from([5e-324, 1e-300, 1e-150, 1e-12, 1e12, 1e150, 1e300])
EXTREME_EFFECT = st.sampled_from([0.0, -1e-300, 1e-12, 1e6, -1e150, 1e300])
# Built once: a strategy made inside a draw is validated anew on each of the ~300 x 12 draws,
# which cost as much CPU as the draws themselves. The draws, and so the examples, are the same.
ANY_EFFECT = ORDINARY_EFFECT | EXTREME_EFFECT
ANY_VARIANCE = ORDINARY_VARIANCE | EXTREME_VARIANCE
SIZES = st.integers(1, 12) | st.sampled_from([1, 2])
SHAPES = st.sampled_from(["ordinary", "identical", "equal-variances", "extreme"])
GROUPS = st.sampled_from(["a", "b"])
MODERATORS = st.floats(-10, 10, allow_nan=False) | st.just(1.0)
ESTIMATOR_NAMES = st.sampled_from(ESTIMATORS)
CI_METHODS = st.sampled_from(["z", "hksj", "t"])
LEVELS = st.sampled_from([0.95, 0.9, 0.99, 0.5000001])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    unused = tmp_path_factory.mktemp("numerical") / "unused.sqlite3"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{unused}"))) as client:
        yield client


@st.composite
def study_sets(draw: st.DrawFn) -> list[tuple[float, float]]:
    """``(yi, vi)`` pairs: ordinary, degenerate or extreme."""
    k = draw(SIZES)
    shape = draw(SHAPES)
    if shape == "identical":
        effect, variance = draw(ANY_EFFECT), draw(ORDINARY_VARIANCE)
        return [(effect, variance)] * k
    if shape == "equal-variances":
        variance = draw(ANY_VARIANCE)
        return [(draw(ORDINARY_EFFECT), variance) for _ in range(k)]
    effects = ORDINARY_EFFECT if shape == "ordinary" else ANY_EFFECT
    variances = ORDINARY_VARIANCE if shape == "ordinary" else ANY_VARIANCE
    return [(draw(effects), draw(variances)) for _ in range(k)]


STUDY_SETS = study_sets()


@st.composite
def analysis_requests(draw: st.DrawFn) -> dict[str, Any]:
    studies = draw(STUDY_SETS)
    effects = [
        {
            "label": f"study {i}",
            "yi": yi,
            "vi": vi,
            "group": draw(GROUPS),
            "moderator": draw(MODERATORS),
        }
        for i, (yi, vi) in enumerate(studies)
    ]
    return {
        "effects": effects,
        "estimator": draw(ESTIMATOR_NAMES),
        "ci_method": draw(CI_METHODS),
        "level": draw(LEVELS),
        "sections": SECTIONS,
    }


@pytest.mark.slow  # 4-6 s: 300 generated analyses
@settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=analysis_requests())
@example(  # Begg's test once crashed on it (see test_fuzz_regressions.py)
    body={
        "effects": [
            {"label": "a", "yi": -1e-300, "vi": 1.0},
            {"label": "b", "yi": -0.3, "vi": 5e-324},
        ],
        "sections": SECTIONS,
    }
)
def test_every_float_is_finite_or_null(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/analyses", json=body)
    assert response.status_code in (200, 422), response.text[:500]
    if response.status_code == 422:
        assert response.headers["content-type"] == "application/problem+json"
        return
    document = strict_json(response.text)
    bad = non_finite(document)
    assert bad == []
    assert document["k"] == len(body["effects"])
