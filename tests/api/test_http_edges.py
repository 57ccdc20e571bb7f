"""HTTP edges (issue 13, item 7): 405 with the full Allow, the batch path, Content-Encoding,
and unknown query parameters refused on every route."""

from __future__ import annotations

import gzip
import json

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import head_version
from tests.factories import peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

ANALYSIS = {
    "effects": [{"label": "A", "yi": 0.1, "vi": 0.01}, {"label": "B", "yi": 0.3, "vi": 0.02}]
}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/studies", "GET, POST"),
        ("DELETE", "/v1/studies/1", "GET, PATCH"),
        ("PUT", "/v1/analyses", "POST"),
        ("DELETE", "/v1/studies/1/withdraw", "POST"),
        ("POST", "/v1/pooled", "GET"),
        ("PATCH", "/v1/studies/batch", "POST"),
        ("GET", "/v1/studies/batch", "POST"),
        # Issue 25: the literal paths listed the methods of /v1/studies/{study_id} too.
        ("POST", "/v1/studies/counts", "GET"),
        ("PATCH", "/v1/studies/counts", "GET"),
        ("DELETE", "/v1/studies/counts", "GET"),
        ("GET", "/v1/studies/preview", "POST"),
        ("PATCH", "/v1/studies/preview", "POST"),
    ],
)
def test_405_lists_every_allowed_method(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == "application/problem+json"


def _post_analysis(client: TestClient, body: bytes, encoding: str) -> object:
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    return client.post("/v1/analyses", content=body, headers=headers)


def test_a_gzip_body_is_decoded(client: TestClient) -> None:
    plain = client.post("/v1/analyses", json=ANALYSIS)
    zipped = _post_analysis(client, gzip.compress(json.dumps(ANALYSIS).encode()), "gzip")
    assert zipped.status_code == 200, zipped.text  # type: ignore[attr-defined]
    assert zipped.json() == plain.json()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "encoding", "status"),
    [
        (json.dumps(ANALYSIS).encode(), "br", 415),
        (json.dumps(ANALYSIS).encode(), "gzip", 400),  # claims gzip, is plain
        (gzip.compress(json.dumps(ANALYSIS).encode(), mtime=0)[:-6], "gzip", 400),  # truncated
        (
            gzip.compress(b" " * (6 * 1024 * 1024), mtime=0),
            "gzip",
            413,
        ),  # 6 KB that inflate to 6 MB
    ],
)
def test_other_or_broken_encodings_are_refused(
    client: TestClient, body: bytes, encoding: str, status: int
) -> None:
    response = _post_analysis(client, body, encoding)
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    if status == 415:
        assert response.headers["accept-encoding"] == "gzip"  # type: ignore[attr-defined]


def test_unknown_query_parameters_are_refused_on_writes(
    client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    params = {f"p{i}": "1" for i in range(2_000)}
    response = client.post(
        "/v1/studies", params=params, json=peer_group_trial(), headers=auth(make_key(["submit"]))
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["location"] == ["query", "p0"]
    assert head_version(client) == 0
    assert len(response.content) < 2 * len(str(response.url))


@pytest.mark.parametrize(
    "path",
    ["/health", "/v1/outcomes", "/v1/studies", "/v1/studies/counts", "/v1/versions", "/v1/pooled"],
)
def test_unknown_query_parameters_are_refused_on_reads(client: TestClient, path: str) -> None:
    response = client.get(path, params={"categroy": "peer-group"})
    assert response.status_code == 422, response.text
    assert "categroy" in response.json()["detail"]


def test_declared_query_parameters_still_work(client: TestClient) -> None:
    assert client.get("/v1/studies", params={"status": "included", "limit": 5}).status_code == 200
    pooled = client.get("/v1/outcomes/empowerment/pooled", params={"level": 0.9, "min_k": 4})
    assert pooled.status_code == 200, pooled.text
    assert client.get("/v1/instruments", params={"outcome": "empowerment"}).status_code == 200
