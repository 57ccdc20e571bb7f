"""API keys over HTTP: 401 for missing, malformed, unknown and revoked keys; 403 for scopes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from service.api.auth import (
    AdminPrincipalDep,
    CuratePrincipalDep,
    Principal,
    ReadAccessDep,
    SubmitPrincipalDep,
    require_scopes,
)
from service.api.idempotency import IdempotencyDep
from service.usecases.operations.keys import revoke_api_key
from tests.api.conftest import Auth, MakeKey

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

PROBLEM = "application/problem+json"


def _describe(principal: Principal | None) -> dict[str, Any] | None:
    if principal is None:
        return None
    return {
        "name": principal.name,
        "scopes": sorted(principal.scopes),
        "trusted": principal.trusted,
    }


@pytest.fixture
def probe_client(app: FastAPI) -> Iterator[TestClient]:
    """The app plus one probe route per kind of access."""

    @app.get("/probe/read")
    def read(principal: ReadAccessDep) -> dict[str, Any] | None:
        return _describe(principal)

    @app.post("/probe/submit")
    def submit(principal: SubmitPrincipalDep) -> dict[str, Any] | None:
        return _describe(principal)

    @app.post("/probe/curate")
    def curate(principal: CuratePrincipalDep) -> dict[str, Any] | None:
        return _describe(principal)

    @app.post("/probe/admin")
    def admin(principal: AdminPrincipalDep) -> dict[str, Any] | None:
        return _describe(principal)

    @app.post("/probe/all-deps")
    def all_deps(
        submitter: SubmitPrincipalDep, reader: ReadAccessDep, idempotency: IdempotencyDep
    ) -> dict[str, Any] | None:
        assert reader == submitter
        return _describe(submitter)

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _assert_unauthenticated(response: Any, detail_part: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["status"] == 401
    assert body["type"].endswith("/unauthenticated")
    assert detail_part in body["detail"]


def _assert_forbidden(response: Any, missing: str) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert "www-authenticate" not in response.headers
    body = response.json()
    assert body["type"].endswith("/forbidden")
    assert missing in body["detail"]


def test_no_key_is_401_with_a_bearer_challenge(probe_client: TestClient) -> None:
    _assert_unauthenticated(probe_client.post("/probe/submit"), "needs an API key")


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer nonsense",
        "Bearer lma_0123456789abcdef_short",
        "Bearer lma_XYZ3456789abcdef_" + "a" * 43,
        "Bearer xyz_0123456789abcdef_" + "a" * 43,
    ],
)
def test_malformed_authorization_is_401(probe_client: TestClient, authorization: str) -> None:
    response = probe_client.post("/probe/submit", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_key_is_401(probe_client: TestClient, auth: Auth) -> None:
    response = probe_client.post("/probe/submit", headers=auth("lma_0123456789abcdef_" + "a" * 43))
    _assert_unauthenticated(response, "not valid")


def test_right_key_id_with_a_wrong_secret_is_401(
    probe_client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    key = make_key(["submit"])
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    _assert_unauthenticated(probe_client.post("/probe/submit", headers=auth(forged)), "not valid")
    assert probe_client.post("/probe/submit", headers=auth(key)).status_code == 200


def test_revoked_key_is_401(
    probe_client: TestClient, make_key: MakeKey, auth: Auth, session: Session
) -> None:
    key = make_key(["submit"])
    before = probe_client.post("/probe/submit", headers=auth(key))
    assert before.status_code == 200
    revoke_api_key(session, before.json()["name"])
    session.commit()
    _assert_unauthenticated(probe_client.post("/probe/submit", headers=auth(key)), "revoked")


def test_right_scope_is_200_with_the_principal(
    probe_client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    key = make_key(["submit"], trusted=True)
    response = probe_client.post("/probe/submit", headers=auth(key))
    assert response.status_code == 200
    body = response.json()
    assert body["scopes"] == ["submit"]
    assert body["trusted"] is True
    assert body["name"].startswith("test-key-")


@pytest.mark.parametrize(
    ("scopes", "route", "missing"),
    [
        (["read"], "/probe/submit", "submit"),
        (["submit"], "/probe/curate", "curate"),
        (["submit", "curate", "read"], "/probe/admin", "admin"),
    ],
)
def test_too_few_scopes_is_403(
    probe_client: TestClient,
    make_key: MakeKey,
    auth: Auth,
    scopes: list[str],
    route: str,
    missing: str,
) -> None:
    _assert_forbidden(probe_client.post(route, headers=auth(make_key(scopes))), missing)


def test_admin_implies_every_scope(
    probe_client: TestClient, make_key: MakeKey, auth: Auth, app: FastAPI
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"require_api_key_for_reads": True})
    headers = auth(make_key(["admin"]))
    for route in ("/probe/submit", "/probe/curate", "/probe/admin"):
        assert probe_client.post(route, headers=headers).status_code == 200, route
    assert probe_client.get("/probe/read", headers=headers).status_code == 200


def test_open_reads_allow_anonymous_and_any_valid_key(
    probe_client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    anonymous = probe_client.get("/probe/read")
    assert anonymous.status_code == 200
    assert anonymous.json() is None
    submitter = probe_client.get("/probe/read", headers=auth(make_key(["submit"])))
    assert submitter.status_code == 200
    assert submitter.json()["scopes"] == ["submit"]


def test_open_reads_still_reject_a_bad_key(probe_client: TestClient, auth: Auth) -> None:
    response = probe_client.get("/probe/read", headers=auth("lma_0123456789abcdef_" + "a" * 43))
    _assert_unauthenticated(response, "not valid")


def test_closed_reads_need_a_key_with_read(
    probe_client: TestClient, make_key: MakeKey, auth: Auth, app: FastAPI
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"require_api_key_for_reads": True})
    _assert_unauthenticated(probe_client.get("/probe/read"), "needs an API key")
    _assert_forbidden(probe_client.get("/probe/read", headers=auth(make_key(["submit"]))), "read")
    reader = probe_client.get("/probe/read", headers=auth(make_key(["read"])))
    assert reader.status_code == 200
    assert reader.json()["scopes"] == ["read"]


def test_the_key_is_looked_up_once_per_request(
    probe_client: TestClient, make_key: MakeKey, auth: Auth, connection: Connection
) -> None:
    key = make_key(["submit", "read"])
    lookups: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM api_key" in statement:
            lookups.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        response = probe_client.post("/probe/all-deps", headers=auth(key))
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert response.status_code == 200
    assert len(lookups) == 1


def test_keys_never_reach_responses_or_logs(
    probe_client: TestClient,
    make_key: MakeKey,
    auth: Auth,
    session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = make_key(["read"])
    secret = key[len("lma_0123456789abcdef_") :]
    assert len(secret) == 43
    responses = [
        probe_client.post("/probe/submit", headers=auth(key)),
        probe_client.get("/probe/read", headers=auth(key)),
        probe_client.post("/probe/submit", headers=auth(key + "x")),
    ]
    assert [r.status_code for r in responses] == [403, 200, 401]
    for response in responses:
        assert secret not in response.text
        assert secret not in str(response.headers)
    assert secret not in caplog.text


def test_principal_has_and_admin() -> None:
    reader = Principal(key_id=1, name="r", scopes=frozenset({"read"}), trusted=False)
    admin = Principal(key_id=2, name="a", scopes=frozenset({"admin"}), trusted=False)
    assert reader.has("read")
    assert not reader.has("submit")
    assert all(admin.has(scope) for scope in ("read", "submit", "curate", "admin"))


def test_require_scopes_rejects_unknown_names_at_once() -> None:
    with pytest.raises(ValueError, match="bogus"):
        require_scopes("submit", "bogus")
