"""Security headers, CORS, the request body limit and opaque 500s."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from service.main import create_app
from service.settings import Settings
from tests.api.conftest import Auth, MakeKey

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

PROBLEM = "application/problem+json"
LIMIT = 2048
ANALYSIS = {
    "effects": [{"label": "a", "yi": 0.1, "vi": 0.02}, {"label": "b", "yi": 0.3, "vi": 0.04}]
}
ALLOWED_ORIGIN = "https://app.example.org"


def _stateless_client(tmp_path: Path, **overrides: Any) -> TestClient:
    """An app whose tested paths touch no database (health, analyses, docs)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}", **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def small_body_client(tmp_path: Path) -> Iterator[TestClient]:
    with _stateless_client(tmp_path, max_body_bytes=LIMIT) as client:
        yield client


def _assert_api_headers(response: Any) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


# --- security headers --------------------------------------------------------------------


def test_json_and_problem_responses_carry_security_headers(client: TestClient) -> None:
    for response in (client.get("/health"), client.get("/v1/nothing"), client.get("/openapi.json")):
        _assert_api_headers(response)
        assert response.headers["cache-control"] == "no-store"


def test_a_crash_still_carries_security_headers(app: FastAPI) -> None:
    @app.get("/probe/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/probe/crash")
    assert response.status_code == 500
    _assert_api_headers(response)


def test_a_route_own_cache_control_is_kept(app: FastAPI) -> None:
    @app.get("/probe/cached")
    def cached(response: Response) -> dict[str, str]:
        response.headers["Cache-Control"] = "max-age=60"
        return {}

    with TestClient(app) as client:
        response = client.get("/probe/cached")
    assert response.headers["cache-control"] == "max-age=60"


def _sources(directive: str, policy: str) -> list[str]:
    for part in policy.split(";"):
        name, *values = part.split()
        if name == directive:
            return values
    return []


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_load_everything_from_this_origin(client: TestClient, path: str) -> None:
    """The documentation works offline: no host but this one, in the page or its policy."""
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert _sources("frame-ancestors", policy) == ["'none'"]
    assert _sources("script-src", policy) == ["'self'"]
    assert _sources("connect-src", policy) == ["'self'"]
    assert not re.search(r"https?:", policy)
    html = response.text
    assert not re.search(r"https?://", html)
    assert not re.search(r"<script>\s*\S", html), "no inline script"
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*href="([^"]+)"', html)
    assert scripts, "the docs page should load a script"
    for url in scripts + styles:
        assert url.startswith("/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == "public, max-age=86400"
        if url.endswith(".js"):
            # What a bundle fetches by itself would need a host in the policy.
            assert b"cdn.jsdelivr.net" not in asset.content
            assert b"cdn.redoc.ly" not in asset.content


# --- CORS ----------------------------------------------------------------------------------


def _preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/v1/analyses",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def test_cors_is_closed_by_default(client: TestClient) -> None:
    preflight = _preflight(client, ALLOWED_ORIGIN)
    assert "access-control-allow-origin" not in preflight.headers
    simple = client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_allows_only_the_configured_origins(tmp_path: Path) -> None:
    with _stateless_client(tmp_path, cors_allow_origins=[ALLOWED_ORIGIN]) as client:
        allowed = _preflight(client, ALLOWED_ORIGIN)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in allowed.headers
        other = _preflight(client, "https://evil.example")
        assert "access-control-allow-origin" not in other.headers
        simple = client.post("/v1/analyses", json=ANALYSIS, headers={"Origin": ALLOWED_ORIGIN})
        assert simple.status_code == 200
        assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


def test_cors_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", f'["{ALLOWED_ORIGIN}"]')
    assert Settings().cors_allow_origins == [ALLOWED_ORIGIN]


# --- request body limit --------------------------------------------------------------------


def _assert_413(response: Any) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 413
    assert body["max_body_bytes"] == LIMIT
    assert body["type"].endswith("/body-too-large")
    assert body["request_id"] == response.headers["x-request-id"]


def _padded(size: int) -> bytes:
    """A valid analysis request of exactly ``size`` bytes (padded with JSON whitespace)."""
    text = json.dumps(ANALYSIS).encode()
    return text + b" " * (size - len(text))


def test_a_body_at_the_limit_is_accepted(small_body_client: TestClient) -> None:
    response = small_body_client.post(
        "/v1/analyses", content=_padded(LIMIT), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200


def test_a_declared_length_over_the_limit_is_413(small_body_client: TestClient) -> None:
    response = small_body_client.post(
        "/v1/analyses", content=_padded(LIMIT + 1), headers={"content-type": "application/json"}
    )
    _assert_413(response)


def test_a_chunked_body_over_the_limit_is_413(small_body_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        body = _padded(LIMIT * 4)
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    response = small_body_client.post(
        "/v1/analyses", content=chunks(), headers={"content-type": "application/json"}
    )
    _assert_413(response)
    assert "content-length" not in response.request.headers


def test_a_chunked_body_under_the_limit_is_read(small_body_client: TestClient) -> None:
    body = _padded(LIMIT)
    response = small_body_client.post(
        "/v1/analyses",
        content=iter([body[:1000], body[1000:]]),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200


def test_an_oversized_write_is_413_before_authentication(small_body_client: TestClient) -> None:
    response = small_body_client.post(
        "/v1/studies", content=b"x" * (LIMIT + 1), headers={"content-type": "application/json"}
    )
    _assert_413(response)


# --- no internals in errors ----------------------------------------------------------------


def _sql_failure(kind: type[DBAPIError]) -> Callable[..., None]:
    def fail(*_: Any, **__: Any) -> None:
        raise kind(
            "SELECT key_hash FROM api_key WHERE public_id = %(id)s", {"id": "x"}, Exception("boom")
        )

    return fail


# A programming error is a bug (500); an operational one is an outage (503, test_database_outage).
@pytest.mark.parametrize(("kind", "status"), [(ProgrammingError, 500), (OperationalError, 503)])
def test_a_database_failure_reveals_no_sql(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    make_key: MakeKey,
    auth: Auth,
    kind: type[DBAPIError],
    status: int,
) -> None:
    from service.usecases.studies import service as studies

    monkeypatch.setattr(studies, "list_studies", _sql_failure(kind))
    response = client.get("/v1/studies", headers=auth(make_key(["read"])))
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    for leak in ("SELECT", "api_key", "key_hash", "Traceback", "sqlalchemy", "boom", ".py"):
        assert leak not in response.text


def test_a_numerical_crash_reveals_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.api.routes import analyses

    def explode(_: Any) -> None:
        raise FloatingPointError("overflow in service/stats/estimators.py line 42")

    monkeypatch.setattr(analyses, "run_analysis", explode)
    response = client.post("/v1/analyses", json=ANALYSIS)
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert set(response.json()) == {"type", "title", "status", "detail", "instance", "request_id"}
    assert "overflow" not in response.text
    assert "estimators" not in response.text
