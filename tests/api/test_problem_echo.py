"""No problem document is much larger than its request (issue 13, item 2).

Without the cap a 100 KB field name came back three times (``location``, ``field``, ``detail``),
and every oversized value an error message quoted came back whole.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.problems import MAX_ECHOED_CHARS, bounded
from tests.api.conftest import Auth, MakeKey
from tests.factories import peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

HUGE = "x" * 100_000


def _effects(**extra: Any) -> list[dict[str, Any]]:
    return [{"label": "A", "yi": 0.1, "vi": 0.01, **extra}, {"label": "B", "yi": 0.2, "vi": 0.02}]


CASES = {
    "unknown field name": ("/v1/analyses", {"effects": _effects(**{HUGE: 1})}),
    "oversized label": ("/v1/analyses", {"effects": _effects(label=HUGE)}),
    "oversized estimator": ("/v1/analyses", {"effects": _effects(), "estimator": HUGE}),
    "oversized study field": ("/v1/studies", {**peer_group_trial(), "title": HUGE, HUGE: 1}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_error_is_never_much_larger_than_its_request(
    client: TestClient, make_key: MakeKey, auth: Auth, case: str
) -> None:
    path, body = CASES[case]
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **auth(make_key(["submit"]))}
    response = client.post(path, content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert len(response.content) < 10_000 < len(raw)
    problem = response.json()
    assert problem["errors"]
    assert all(len(error["field"]) <= MAX_ECHOED_CHARS + 40 for error in problem["errors"])


def test_the_cap_keeps_short_values_and_says_what_it_cut() -> None:
    document = {"detail": "short", "errors": [{"field": HUGE}] * 150, "n": 3}
    capped = bounded(document)
    assert (capped["detail"], capped["n"]) == ("short", 3)
    assert len(capped["errors"]) == 100
    assert capped["errors"][0]["field"].endswith("... (shortened; 100,000 characters)")
