"""Every float of every pooled answer is finite or null, for degenerate evidence too.

The companion of ``test_numerical_safety.py`` (which covers ``POST /v1/analyses``) for the read
side: study sets at the edges of what the store accepts (k = 1 to 5, identical effects, equal
variances, effects near the plausibility bound of 20, variances near 1e-8 and 1e4, an outcome
with nothing) are stored through the API, then the pooled result with every section, each
category, the summary table and the history are read: each a 200 whose JSON holds no NaN or
Infinity.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.numbers_support import non_finite, strict_json
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors
from tests.factories import result

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

SECTIONS = [
    "egger", "begg", "trim_and_fill", "failsafe", "leave_one_out", "influence", "cumulative",
]  # fmt: skip
CATEGORIES = ["peer-group", "one-to-one", "peer-run-service"]
# (yi, se) per study; the store refuses |g| > 20 and variances outside 1e-8..1e4.
EVIDENCE = {
    "one study": [(0.4, 0.2)],
    "two studies": [(0.4, 0.2), (-0.1, 0.3)],
    "identical effects": [(0.3, 0.2)] * 5,
    "identical, equal variances": [(0.0, 0.1)] * 5,
    "equal variances": [(0.1 * i, 0.2) for i in range(5)],
    "near the effect bound": [(19.9, 0.5), (-19.9, 0.5), (19.0, 1.0), (0.0, 0.5)],
    "near the variance bounds": [(0.2, 1.001e-4), (0.3, 99.9), (0.25, 1.001e-4), (-1.0, 99.9)],
    "tiny and huge variances": [(0.5, 1.001e-4), (0.1, 1.001e-4), (0.4, 99.9), (0.2, 50.0)],
}


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _study(index: int, yi: float, se: float) -> dict[str, Any]:
    data = {"form": "effect_se", "effect": yi, "se": se, "positive_favours_intervention": True}
    return trial(
        results=[result("empowerment", "empowerment-scale", data)],
        category=CATEGORIES[index % 3],
        year=2010 + index,
    )


def _finite_answer(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text[:500]
    document: dict[str, Any] = strict_json(response.text)
    assert non_finite(document) == []
    return document


@pytest.mark.parametrize("shape", list(EVIDENCE))
def test_every_pooled_float_is_finite_or_null(
    client: TestClient, actors: Actors, shape: str
) -> None:
    studies = EVIDENCE[shape]
    add_batch(client, actors.trusted, [_study(i, yi, se) for i, (yi, se) in enumerate(studies)])
    url = "/v1/outcomes/empowerment/pooled"
    for min_k in (1, 4):
        answer = _finite_answer(client, url, min_k=min_k, sections=SECTIONS)
        assert answer["k"] == len(studies)
        assert answer["status"] == ("pooled" if len(studies) >= min_k else "insufficient_evidence")
    for category in CATEGORIES:
        _finite_answer(client, url, min_k=1, category=category, estimator="DL", ci_method="z")
    _finite_answer(client, "/v1/outcomes/self-efficacy/pooled", min_k=1, sections=SECTIONS)
    _finite_answer(client, "/v1/pooled", min_k=1)
    _finite_answer(client, "/v1/outcomes/empowerment/history", min_k=1)
