"""The scope matrix: every write route x no key / bad key / revoked key / too few scopes / right.

A refused request writes nothing: the evidence version stays where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from service.usecases.operations.keys import create_api_key, revoke_api_key
from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, Headers, create, etag, head_version
from tests.factories import peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

Send = Callable[[TestClient, Headers, int], Response]


@dataclass(frozen=True)
class Route:
    scopes: tuple[str, ...]  # what the route needs
    too_few: tuple[str, ...]  # a key that lacks one of them
    send: Send
    success: int


def _post_study(client: TestClient, headers: Headers, _: int) -> Response:
    return client.post("/v1/studies", json=peer_group_trial(), headers=headers)


def _post_batch(client: TestClient, headers: Headers, _: int) -> Response:
    return client.post("/v1/studies/batch", json={"studies": [peer_group_trial()]}, headers=headers)


def _patch(client: TestClient, headers: Headers, study_id: int) -> Response:
    tagged = {**headers, "If-Match": etag(client, study_id)}
    return client.patch(f"/v1/studies/{study_id}", json={"year": 2015}, headers=tagged)


def _action(name: str, body: dict[str, Any] | None) -> Send:
    def send(client: TestClient, headers: Headers, study_id: int) -> Response:
        return client.post(f"/v1/studies/{study_id}/{name}", json=body, headers=headers)

    return send


def _audit(client: TestClient, headers: Headers, _: int) -> Response:
    return client.get("/v1/audit", headers=headers)


ROUTES = {
    "create": Route(("submit",), ("read",), _post_study, 201),
    "batch": Route(("submit",), ("read",), _post_batch, 201),
    "patch": Route(("submit",), ("read", "curate"), _patch, 200),
    "withdraw": Route(("submit",), ("read",), _action("withdraw", {"reason": "Retracted"}), 200),
    "include": Route(("curate",), ("read", "submit"), _action("include", None), 200),
    "exclude": Route(("curate",), ("submit",), _action("exclude", {"reason": "Off topic"}), 200),
    "audit": Route(("admin",), ("read", "submit", "curate"), _audit, 200),
}
CASES = ("no key", "bad key", "revoked key", "too few scopes", "right scope")


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _revoked(session: Session, auth: Auth, scopes: tuple[str, ...]) -> Headers:
    plaintext = create_api_key(session, name="revoked-key", scopes=scopes).plaintext
    revoke_api_key(session, "revoked-key")
    session.commit()
    return auth(plaintext)


def _headers(case: str, route: Route, who: Actors, session: Session, auth: Auth) -> Headers:
    if case == "no key":
        return {}
    if case == "bad key":
        return auth("lma_0123456789abcdef_" + "a" * 43)
    if case == "revoked key":
        return _revoked(session, auth, route.scopes)
    if case == "too few scopes":
        return who.key(*route.too_few, trusted=True)
    if route.scopes == ("submit",):
        return who.submitter  # the study's own submitter (test_ownership.py: everyone else)
    return who.key(*route.scopes)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", list(ROUTES))
def test_scope_matrix(
    client: TestClient, who: Actors, session: Session, auth: Auth, name: str, case: str
) -> None:
    route = ROUTES[name]
    study_id = create(client, who.submitter, peer_group_trial())["study"]["id"]
    response = route.send(client, _headers(case, route, who, session, auth), study_id)
    expected = {"no key": 401, "bad key": 401, "revoked key": 401, "too few scopes": 403}
    assert response.status_code == expected.get(case, route.success), response.text
    if case != "right scope":
        assert response.headers["content-type"] == "application/problem+json"
        assert head_version(client) == 1
    if case.endswith("key"):
        assert response.headers["www-authenticate"] == "Bearer"
