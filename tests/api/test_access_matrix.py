"""The spec's security is the service's: every operation, called anonymously and with a key
of each scope, answers 401 / 403 / something else exactly as its ``security`` and
``x-required-scopes`` say (both databases).

Before: ``POST /v1/analyses`` (and every other operation that merely reads an optional key)
was documented as requiring a key, yet never answered 401."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]
SCOPES = ("read", "submit", "curate", "subscribe", "admin")
PATH_VALUES = {
    "study_id": "1",
    "number": "1",
    "webhook_id": "1",
    "outcome": "empowerment",
    "discrepancy_id": "1",
    "candidate_id": "1",
    "run_id": "1",
}
DENIED = {401, 403}


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    document = client.app.openapi()  # type: ignore[attr-defined]
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def _expected(operation: dict[str, Any], scopes: tuple[str, ...] | None) -> str:
    """'401', '403' or 'allowed' for a caller with ``scopes`` (None: no key)."""
    if not operation.get("security"):
        return "allowed"
    if scopes is None:
        return "401"
    needed = set(operation["x-required-scopes"])
    return "allowed" if "admin" in scopes or needed <= set(scopes) else "403"


def _outcome(status: int) -> str:
    return str(status) if status in DENIED else "allowed"


@pytest.mark.slow  # 9-11 s: every operation for every kind of caller
def test_every_operation_answers_each_caller_as_its_security_says(
    client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    callers: dict[str, tuple[dict[str, str], tuple[str, ...] | None]] = {"anonymous": ({}, None)}
    for scope in SCOPES:
        callers[scope] = (auth(make_key([scope])), (scope,))
    operations = _operations(client)
    assert len(operations) > 40
    wrong = []
    for method, path, operation in operations:
        body = {"json": {}} if "requestBody" in operation else {}
        for name, (headers, scopes) in callers.items():
            response = client.request(method, _url(path), headers=headers, **body)
            expected, got = _expected(operation, scopes), _outcome(response.status_code)
            if expected != got:
                wrong.append(f"{method} {path} as {name}: {response.status_code}, spec {expected}")
    assert wrong == []


def test_an_optional_key_that_is_sent_must_be_valid(client: TestClient) -> None:
    bad = {"Authorization": "Bearer lma_1_not-a-key"}
    for method, path, operation in _operations(client):
        if operation.get("x-api-key") == "optional":
            body = {"json": {}} if "requestBody" in operation else {}
            response = client.request(method, _url(path), headers=bad, **body)
            assert response.status_code == 401, f"{method} {path}"


def test_analyses_need_no_key(client: TestClient) -> None:
    operation = client.app.openapi()["paths"]["/v1/analyses"]["post"]  # type: ignore[attr-defined]
    assert "security" not in operation
    assert operation["x-api-key"] == "optional"
