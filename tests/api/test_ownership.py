"""Object-level authorization: who may change which study (issue 13, item 3).

A ``submit`` key may change or withdraw only the studies it submitted, and only while they are
pending; ``curate`` and ``admin`` keys may act on any study. The whole matrix: every write route
on an existing study x owner / other submitter / curator / admin / no key, on both databases.
A refused request writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, Headers, create, head_version
from tests.factories import peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

WHO = ("owner", "other submitter", "other trusted submitter", "curator", "admin", "no key")
# route -> who -> status, for a pending study submitted by "owner".
EXPECTED: dict[str, dict[str, int]] = {
    "patch": {"owner": 200, "curator": 200, "admin": 200},
    "withdraw": {"owner": 200, "curator": 200, "admin": 200},
    "include": {"curator": 200, "admin": 200},
    "exclude": {"curator": 200, "admin": 200},
}
_BODIES: dict[str, dict[str, Any] | None] = {
    "withdraw": {"reason": "Retracted"},
    "include": None,
    "exclude": {"reason": "Off topic"},
}


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


@pytest.fixture
def owner(who: Actors) -> Headers:
    return who.submitter


def _headers(who: Actors, owner: Headers, name: str) -> Headers:
    return {
        "owner": owner,
        "other submitter": who.key("submit"),
        "other trusted submitter": who.key("submit", trusted=True),
        "curator": who.curator,
        "admin": who.admin,
        "no key": {},
    }[name]


def _etag(client: TestClient, who: Actors, study_id: int) -> str:
    response = client.get(f"/v1/studies/{study_id}", headers=who.admin)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def _send(client: TestClient, who: Actors, route: str, headers: Headers, study_id: int) -> Response:
    if route == "patch":
        tagged = {**headers, "If-Match": _etag(client, who, study_id)}
        return client.patch(f"/v1/studies/{study_id}", json={"year": 2015}, headers=tagged)
    return client.post(f"/v1/studies/{study_id}/{route}", json=_BODIES[route], headers=headers)


def _refused_without_writing(
    client: TestClient, response: Response, status: int, version: int
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert head_version(client) == version


@pytest.mark.parametrize("actor", WHO)
@pytest.mark.parametrize("route", list(EXPECTED))
def test_who_may_act_on_a_pending_study(
    client: TestClient, who: Actors, owner: Headers, route: str, actor: str
) -> None:
    study_id = create(client, owner, peer_group_trial())["study"]["id"]
    response = _send(client, who, route, _headers(who, owner, actor), study_id)
    expected = EXPECTED[route].get(actor, 401 if actor == "no key" else 403)
    if expected != 200:
        _refused_without_writing(client, response, expected, version=1)
        return
    assert response.status_code == 200, response.text
    assert head_version(client) == 2


@pytest.mark.parametrize("state", ["include", "exclude"])
@pytest.mark.parametrize("route", ["patch", "withdraw"])
def test_the_owner_may_not_act_once_the_study_is_reviewed(
    client: TestClient, who: Actors, owner: Headers, route: str, state: str
) -> None:
    study_id = create(client, owner, peer_group_trial())["study"]["id"]
    assert _send(client, who, state, who.curator, study_id).status_code == 200
    response = _send(client, who, route, owner, study_id)
    _refused_without_writing(client, response, 403, version=2)
    assert "pending" in response.json()["detail"]
    assert _send(client, who, route, who.admin, study_id).status_code == 200


def test_a_trusted_key_may_change_its_own_included_study_only(
    client: TestClient, who: Actors
) -> None:
    trusted = who.trusted
    own = create(client, trusted, peer_group_trial())["study"]
    assert own["status"] == "included"
    assert _send(client, who, "patch", trusted, own["id"]).status_code == 200
    other = create(client, who.key("submit", trusted=True), peer_group_trial())["study"]
    response = _send(client, who, "withdraw", trusted, other["id"])
    _refused_without_writing(client, response, 403, version=3)
    assert "submitted with another API key" in response.json()["detail"]
