"""``view=summary``: the headline of the full answer, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.usecases.pooled.cache import ResultCache
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors, create

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

URL = "/v1/outcomes/empowerment/pooled"
SHARED = ("outcome", "status", "k", "participants", "evidence_version", "engine_version")
RESULT = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "tau2", "i2", "p_value")


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _expected(full: dict[str, Any]) -> dict[str, Any]:
    result = full["result"] or {}
    return {
        **{name: full[name] for name in SHARED},
        **{name: result.get(name) for name in RESULT},
        "canonical": full["spec"]["canonical"],
    }


@pytest.mark.parametrize("cache", ["summary first", "full first"])
def test_the_summary_equals_the_fields_of_the_full_answer(
    client: TestClient, actors: Actors, cache: str
) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i, year=2000 + i) for i in range(11)])
    create(client, actors.submitter, trial(0.8))  # version 2: pending, changes nothing
    params = {"category": "peer-group", "sections": "leave_one_out", "min_k": 5}
    for options in ({}, params, {"min_k": 20}):  # pooled, with options, and narrative
        client.app.state.pooled_cache = ResultCache()
        if cache == "full first":
            full = pooled(client, **options)
        summary = pooled(client, view="summary", **options)
        if cache == "summary first":
            full = pooled(client, **options)
        assert {name: summary[name] for name in _expected(full)} == _expected(full)
        version = client.get(f"/v1/versions/{full['evidence_version']}").json()
        assert summary["evidence_created_at"] == version["created_at"]
        assert summary["outcome_name"] == "Empowerment"
        assert set(summary) == {*_expected(full), "outcome_name", "evidence_created_at"}
    assert summary["status"] == "insufficient_evidence"
    assert summary["estimate"] is None


def test_the_summary_has_its_own_etag_and_revalidates(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    full = client.get(URL)
    summary = client.get(URL, params={"view": "summary"})
    assert summary.headers["etag"] != full.headers["etag"]
    assert len(summary.content) < 1024
    polled = client.get(
        URL, params={"view": "summary"}, headers={"If-None-Match": summary.headers["etag"]}
    )
    assert polled.status_code == 304
    empty = client.get(URL, params={"view": "summary", "as_of": 0}).json()
    assert (empty["k"], empty["evidence_version"], empty["evidence_created_at"]) == (0, 0, None)
    refused = client.get(URL, params={"view": "compact"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "view"
