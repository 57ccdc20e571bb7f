"""Unreviewed submissions are not public (issue 13, item 4), on both databases.

With the default settings a pending or excluded study, and its free text, is listed and read
only with its submitter's key or a curate/admin key; ``unreviewed_studies_public`` shows it to
everyone. The counts per status stay public either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, Headers, create
from tests.factories import one_to_one_stigma_trial, peer_group_trial

pytestmark = [
    pytest.mark.db,
    pytest.mark.usefixtures("default_visibility"),
    pytest.mark.unconcluded,
]
SECRET_TITLE = "Unreviewed: the submitter's own words"


@pytest.fixture
def default_visibility(app: FastAPI) -> Iterator[None]:
    """The app with the service's default: unreviewed studies hidden."""
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"unreviewed_studies_public": False})
    yield
    app.state.settings = settings


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


@pytest.fixture
def studies(client: TestClient, who: Actors) -> dict[str, int]:
    """One study in each reviewed state, all from ``who.submitter``, and one included."""
    ids = {
        state: create(client, who.submitter, peer_group_trial(title=f"{SECRET_TITLE} {state}"))[
            "study"
        ]["id"]
        for state in ("pending", "excluded")
    }
    reason = {"reason": "Outcome measured with an unvalidated scale"}
    excluded = client.post(
        f"/v1/studies/{ids['excluded']}/exclude", json=reason, headers=who.curator
    )
    assert excluded.status_code == 200
    ids["included"] = create(client, who.curator, one_to_one_stigma_trial())["study"]["id"]
    return ids


def _listed(client: TestClient, headers: Headers, **params: Any) -> set[int]:
    response = client.get("/v1/studies", params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.mark.parametrize("reader", ["no key", "other submitter"])
def test_unreviewed_studies_are_hidden_from_others(
    client: TestClient, who: Actors, studies: dict[str, int], reader: str
) -> None:
    headers = {} if reader == "no key" else who.key("submit")
    assert _listed(client, headers) == {studies["included"]}
    assert _listed(client, headers, status=["pending", "excluded"]) == set()
    assert _listed(client, headers, q="Unreviewed") == set()
    for state in ("pending", "excluded"):
        response = client.get(f"/v1/studies/{studies[state]}", headers=headers)
        assert response.status_code == 404
        assert SECRET_TITLE not in response.text
        assert "unvalidated" not in response.text
    assert client.get(f"/v1/studies/{studies['included']}", headers=headers).status_code == 200


@pytest.mark.parametrize("reader", ["submitter", "curator", "admin"])
def test_the_submitter_and_curators_see_them(
    client: TestClient, who: Actors, studies: dict[str, int], reader: str
) -> None:
    headers = getattr(who, reader)
    assert _listed(client, headers) == set(studies.values())
    response = client.get(f"/v1/studies/{studies['excluded']}", headers=headers)
    assert response.status_code == 200
    assert response.json()["status_reason"] == "Outcome measured with an unvalidated scale"


def test_as_of_follows_the_status_at_that_version(
    client: TestClient, who: Actors, studies: dict[str, int]
) -> None:
    # The excluded study was pending at version 2 and included studies are public at any time.
    assert client.get(f"/v1/studies/{studies['excluded']}?as_of=2").status_code == 404
    assert _listed(client, {}, as_of=4) == {studies["included"]}


def test_counts_stay_public(client: TestClient, studies: dict[str, int]) -> None:
    response = client.get("/v1/studies/counts")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "evidence_version": 4,
        "pending": 1,
        "included": 1,
        "excluded": 1,
        "withdrawn": 0,
    }


def test_a_setting_makes_them_public(
    app: FastAPI, client: TestClient, studies: dict[str, int]
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"unreviewed_studies_public": True})
    assert _listed(client, {}) == set(studies.values())
    assert client.get(f"/v1/studies/{studies['pending']}").json()["title"].startswith(SECRET_TITLE)


@pytest.mark.parametrize("reader", ["no key", "other submitter", "submitter", "curator"])
def test_version_summaries_quote_free_text_only_to_who_may_see_it(
    client: TestClient, who: Actors, studies: dict[str, int], reader: str
) -> None:
    headers = {"no key": {}, "other submitter": who.key("submit")}.get(reader)
    headers = getattr(who, reader) if headers is None else headers
    listed = client.get("/v1/versions", headers=headers).json()["items"]
    one = client.get("/v1/versions/3", headers=headers).json()  # the exclusion, by the curator
    text = " ".join(v["summary"] for v in listed) + one["summary"]
    sees = {"no key": (False, False), "other submitter": (False, False)}
    titles, reason = sees.get(reader, (True, reader == "curator"))
    assert (SECRET_TITLE in text) is titles
    assert ("unvalidated" in text) is reason
    assert [v["number"] for v in listed] == [4, 3, 2, 1]
    assert one["study_ids"] == [studies["excluded"]]
