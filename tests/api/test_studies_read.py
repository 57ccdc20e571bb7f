"""GET /v1/studies and /v1/studies/{id}: filters, cursor pagination, as_of, read access."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, action, create, listed_ids, problem_fields
from tests.factories import cluster_peer_service_trial, one_to_one_stigma_trial, peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


@dataclass(frozen=True)
class Library:
    """Four studies: peer group (2016, included), one-to-one (2019, pending), cluster
    peer-run service (2021, excluded), and a withdrawn one-to-one trial (2018)."""

    group: int
    mentor: int
    cluster: int
    withdrawn: int
    group_doi: str
    mentor_registration: str


@pytest.fixture
def library(client: TestClient, who: Actors) -> Library:
    group = create(client, who.trusted, peer_group_trial())["study"]
    mentor = create(client, who.submitter, one_to_one_stigma_trial())["study"]
    cluster = create(client, who.submitter, cluster_peer_service_trial())["study"]
    assert (
        action(client, who.curator, cluster["id"], "exclude", "Not randomized").status_code == 200
    )
    gone = create(client, who.submitter, one_to_one_stigma_trial(year=2018, title="Withdrawn"))
    withdrawn = gone["study"]["id"]
    assert (
        action(client, who.submitter, withdrawn, "withdraw", "Duplicate record").status_code == 200
    )
    return Library(
        group["id"], mentor["id"], cluster["id"], withdrawn, group["doi"], mentor["registration_id"]
    )


def test_unknown_study_is_404(client: TestClient) -> None:
    response = client.get("/v1/studies/999999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_get_gives_the_strong_etag_of_the_current_revision(client: TestClient, who: Actors) -> None:
    study = create(client, who.trusted, peer_group_trial())["study"]
    response = client.get(f"/v1/studies/{study['id']}")
    assert response.headers["etag"] == f'"study-{study["id"]}-v{study["valid_from"]}"'


def test_withdrawn_studies_are_listed_only_when_asked_for(
    client: TestClient, library: Library
) -> None:
    assert listed_ids(client) == [library.group, library.mentor, library.cluster]
    assert listed_ids(client, status="withdrawn") == [library.withdrawn]
    assert client.get(f"/v1/studies/{library.withdrawn}").json()["status"] == "withdrawn"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"outcome": "internalized-stigma"}, ["mentor"]),
        ({"outcome": ["internalized-stigma", "self-efficacy"]}, ["group", "mentor"]),
        ({"category": "peer-run-service"}, ["cluster"]),
        ({"design": "cluster-randomized"}, ["cluster"]),
        ({"status": "included"}, ["group"]),
        ({"status": ["pending", "excluded"]}, ["mentor", "cluster"]),
        ({"year_from": 2017}, ["mentor", "cluster"]),
        ({"year_to": 2019}, ["group", "mentor"]),
        ({"year_from": 2017, "year_to": 2019}, ["mentor"]),
        ({"q": "DROP-IN"}, ["cluster"]),  # title, case-insensitive
        ({"q": "okafor"}, ["mentor"]),  # authors
        ({"q": "100%"}, []),  # LIKE wildcards are matched literally
        ({"q": "__"}, []),
    ],
)
def test_filters(
    client: TestClient, library: Library, params: dict[str, object], expected: list[str]
) -> None:
    assert listed_ids(client, **params) == [getattr(library, name) for name in expected]


def test_registration_id_and_doi_filters_normalise_like_the_store(
    client: TestClient, library: Library
) -> None:
    registration = library.mentor_registration.lower()
    assert listed_ids(client, registration_id=registration) == [library.mentor]
    doi = "https://doi.org/" + library.group_doi.upper()
    assert listed_ids(client, doi=doi) == [library.group]


def test_cursor_pagination_visits_every_study_once(client: TestClient, who: Actors) -> None:
    created = [create(client, who.trusted, peer_group_trial())["study"]["id"] for _ in range(5)]
    seen: list[int] = []
    params: dict[str, object] = {"limit": 2, "category": "peer-group"}
    pages = 0
    while True:
        response = client.get("/v1/studies", params=params)
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            assert "link" not in response.headers
            break
        link = response.headers["link"]
        assert link.endswith('>; rel="next"')
        assert "category=peer-group" in link
        assert f"cursor={page['next_cursor']}" in link
        params["cursor"] = page["next_cursor"]
    assert (seen, pages) == (created, 3)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "LTE"}, "cursor"),  # base64 of "-1"
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"status": "deleted"}, "status.0"),
        ({"year_from": 1800}, "year_from"),
        ({"q": "x"}, "q"),
        ({"sort": "year"}, "sort"),  # unknown parameters are rejected, not ignored
        ({"as_of": -1}, "as_of"),
    ],
)
def test_bad_list_parameters_are_422(
    client: TestClient, params: dict[str, object], field: str
) -> None:
    assert problem_fields(client.get("/v1/studies", params=params)) == {field}


def test_as_of_beyond_the_newest_version_is_404(client: TestClient, who: Actors) -> None:
    """Not there yet (issue 25): a 404 naming as_of and the newest version, not a 422."""
    study = create(client, who.trusted, peer_group_trial())["study"]
    for response in (
        client.get("/v1/studies", params={"as_of": 2}),
        client.get(f"/v1/studies/{study['id']}?as_of=2"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["as_of"]
        assert response.json()["newest_version"] == 1
        assert "the newest is 1" in response.json()["detail"]


def test_as_of_zero_is_the_empty_review(client: TestClient, who: Actors) -> None:
    study = create(client, who.trusted, peer_group_trial())["study"]
    assert listed_ids(client, as_of=0) == []
    assert client.get(f"/v1/studies/{study['id']}?as_of=0").status_code == 404


def test_reads_can_require_a_key_with_the_read_scope(
    app: FastAPI, client: TestClient, who: Actors
) -> None:
    study = create(client, who.trusted, peer_group_trial())["study"]
    app.state.settings = app.state.settings.model_copy(update={"require_api_key_for_reads": True})
    paths = ["/v1/studies", f"/v1/studies/{study['id']}", "/v1/versions", "/v1/versions/1"]
    for path in paths:
        assert client.get(path).status_code == 401
        assert client.get(path, headers=who.key("submit")).status_code == 403
        assert client.get(path, headers=who.key("read")).status_code == 200
