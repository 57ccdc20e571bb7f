"""Every error is RFC 9457 problem+json with the right status, never a stack trace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

PROBLEM = "application/problem+json"


class Echo(BaseModel):
    n: int
    label: str


@pytest.fixture
def probe_client(app: FastAPI) -> Iterator[TestClient]:
    """The app plus two probe routes: one with a body to validate, one that crashes."""

    @app.post("/probe/echo")
    def echo(body: Echo) -> Echo:
        return body

    @app.get("/probe/crash")
    def crash() -> None:
        raise RuntimeError("secret internals: SELECT * FROM api_key")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status
    headers = response.headers
    assert headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert str(body["type"]).startswith("https://")
    return body


def test_unknown_route_is_404(client: TestClient) -> None:
    body = _assert_problem(client.get("/v1/nothing-here"), 404)
    assert body["instance"] == "/v1/nothing-here"


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.post("/v1/outcomes")
    _assert_problem(response, 405)
    assert response.headers["allow"] == "GET"


def test_malformed_json_is_422(probe_client: TestClient) -> None:
    response = probe_client.post(
        "/probe/echo", content=b'{"n": 1,', headers={"content-type": "application/json"}
    )
    body = _assert_problem(response, 422)
    assert body["errors"]


def test_wrong_types_name_the_fields(probe_client: TestClient) -> None:
    response = probe_client.post("/probe/echo", json={"n": "many"})
    body = _assert_problem(response, 422)
    fields = {e["field"] for e in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {"n", "label"}
    assert "label" in str(body["detail"])
    assert "n" in str(body["detail"])


def test_crash_is_500_without_internals_and_with_request_id(probe_client: TestClient) -> None:
    response = probe_client.get("/probe/crash", headers={"x-request-id": "req-12345678"})
    body = _assert_problem(response, 500)
    assert body["request_id"] == "req-12345678"
    assert response.headers["x-request-id"] == "req-12345678"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_unacceptable_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32
