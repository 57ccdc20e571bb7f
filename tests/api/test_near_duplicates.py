"""Near-duplicate studies over HTTP (issue 26): the same trial without a DOI or registration
id, posted twice without an Idempotency-Key, was stored and pooled twice; a CSV export
re-imported matched nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.exchange_support import post_import
from tests.api.studies_support import Actors, create
from tests.factories import Body, peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _anonymous(**overrides: Any) -> Body:
    """The factory's trial without the identifiers that would match it exactly."""
    return peer_group_trial(doi=None, registration_id=None, pmid=None, **overrides)


def _count(client: TestClient) -> int:
    items: list[Any] = client.get("/v1/studies", params={"limit": 200}).json()["items"]
    return len(items)


def test_the_same_trial_posted_twice_is_a_409_naming_the_stored_one(
    client: TestClient, who: Actors
) -> None:
    stored = create(client, who.trusted, _anonymous())["study"]
    title = stored["title"].replace("randomized", "randomised").replace(":", " -").upper()
    again = client.post("/v1/studies", json=_anonymous(title=title, year=2017),
                        headers=who.trusted)  # fmt: skip
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["type"].endswith("/possible-duplicate")
    assert f"/v1/studies/{stored['id']}" in problem["detail"]
    assert '"duplicate_of": null' in problem["detail"]
    [duplicate] = problem["duplicates"]
    assert duplicate["existing_study_id"] == stored["id"]
    evidence = duplicate["evidence"]
    assert evidence["first_author"] == "jansen"
    assert evidence["years"] == [2017, 2016]
    assert evidence["same_arm_sizes"] is True
    assert 90 <= evidence["title_similarity"] < 100
    assert _count(client) == 1

    confirmed = client.post(
        "/v1/studies", json=_anonymous(title=title, year=2017, duplicate_of=None),
        headers=who.trusted,
    )  # fmt: skip
    assert confirmed.status_code == 201, confirmed.text
    version = client.get(f"/v1/versions/{confirmed.json()['evidence_version']}").json()
    assert "confirmed not a duplicate (duplicate_of: null)" in version["summary"]


def test_another_trial_by_the_same_group_in_the_same_year_is_stored(
    client: TestClient, who: Actors
) -> None:
    create(client, who.trusted, _anonymous())
    second = _anonymous(title="A peer-led recovery course for young adults in rural clinics")
    second["arms"][0]["n_randomized"] = 75
    second["total_randomized"] = 143
    assert client.post("/v1/studies", json=second, headers=who.trusted).status_code == 201


def test_a_batch_reports_each_likely_duplicate_and_stores_nothing(
    client: TestClient, who: Actors
) -> None:
    stored = create(client, who.trusted, _anonymous())["study"]
    other = _anonymous(title="Peer mentoring after discharge", authors="Morgan K", year=2020)
    batch = [other, _anonymous(), {**other, "title": "Peer mentoring after discharge."}]
    response = client.post("/v1/studies/batch", json={"studies": batch}, headers=who.trusted)
    assert response.status_code == 409, response.text
    rows = {(d["index"], d["existing"]) for d in response.json()["duplicates"]}
    assert rows == {(1, f"/v1/studies/{stored['id']}"), (2, "the same batch")}
    assert _count(client) == 1
    for body in batch[1:]:
        body["duplicate_of"] = None
    accepted = client.post("/v1/studies/batch", json={"studies": batch}, headers=who.trusted)
    assert accepted.status_code == 201, accepted.text


def test_a_csv_export_imported_again_recognises_every_row(client: TestClient, who: Actors) -> None:
    for year, author in ((2014, "Jansen A"), (2018, "Bakker L"), (2021, "Visser R")):
        create(client, who.trusted, _anonymous(year=year, authors=author))
    exported = client.get("/v1/studies", params={"format": "csv"}).text
    again = post_import(client, who.curator, exported, fmt="csv", dry_run=True)
    assert again.status_code == 200, again.text
    report = again.json()
    assert report["new_studies"] == 0
    assert len(report["matched"]) == 3
    assert {m["matched_by"] for m in report["matched"]} == {"near_duplicate"}


def test_a_change_that_makes_a_study_a_likely_duplicate_is_a_409(
    client: TestClient, who: Actors
) -> None:
    stored = create(client, who.trusted, _anonymous())["study"]
    other = create(client, who.trusted, _anonymous(title="Peer mentoring", year=2010))
    other_id = other["study"]["id"]
    etag = client.get(f"/v1/studies/{other_id}").headers["etag"]
    headers = {**who.trusted, "If-Match": etag}
    patch = {"title": stored["title"], "year": 2016}
    refused = client.patch(f"/v1/studies/{other_id}", json=patch, headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["duplicates"][0]["existing_study_id"] == stored["id"]
    confirmed = client.patch(
        f"/v1/studies/{other_id}", json={**patch, "duplicate_of": None}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    version = client.get(f"/v1/versions/{confirmed.json()['evidence_version']}").json()
    assert "confirmed not a duplicate" in version["summary"]
    # A change to other fields is not checked again.
    etag = confirmed.headers["etag"]
    note = client.patch(f"/v1/studies/{other_id}", json={"setting": "Two clinics"},
                        headers={**who.trusted, "If-Match": etag})  # fmt: skip
    assert note.status_code == 200, note.text


def test_a_file_repeating_a_trial_is_reported_at_the_repeated_row(
    client: TestClient, who: Actors
) -> None:
    text = "\n".join(
        [
            "study,year,category,design,comparator,quality,outcome,instrument,weeks,"
            "m1i,sd1i,n1i,m2i,sd2i,n2i",
            '"Okafor, 2019",2019,one-to-one,randomized,treatment-as-usual,moderate,'
            "empowerment,empowerment-scale,12,2.9,0.5,30,2.7,0.5,31",
            '"OKAFOR, 2019",2019,one-to-one,randomized,treatment-as-usual,moderate,'
            "empowerment,empowerment-scale,12,2.9,0.5,30,2.7,0.5,31",
        ]
    )
    dry = post_import(client, who.curator, text, fmt="csv", dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["studies"] == 2, dry.json()
    [problem] = dry.json()["problems"]
    assert problem["row"] == 3
    assert "likely the same trial as the study at row 2" in problem["problem"]
    stored = post_import(client, who.curator, text, fmt="csv")
    assert stored.status_code == 422  # nothing half-written
    assert _count(client) == 0


def test_registration_ids_narrow_the_candidates_without_hiding_a_duplicate(
    client: TestClient, who: Actors
) -> None:
    """Candidates are narrowed in SQL by registration id (issue 23 follow-up): a stored study
    without one is still found for a registered copy, alone or in a batch of registered
    studies, while a stored study registered under another id is another trial."""
    unregistered = create(client, who.trusted, _anonymous())["study"]
    registered = {**_anonymous(), "registration_id": "NCT00000001"}
    alone = client.post("/v1/studies", json=registered, headers=who.trusted)
    assert alone.status_code == 409, alone.text
    assert alone.json()["duplicates"][0]["existing_study_id"] == unregistered["id"]
    other = {**_anonymous(title="Peer mentoring after discharge", authors="Morgan K"),
             "registration_id": "NCT00000002"}  # fmt: skip
    batch = client.post("/v1/studies/batch", json={"studies": [other, registered]},
                        headers=who.trusted)  # fmt: skip
    assert batch.status_code == 409, batch.text
    assert [d["index"] for d in batch.json()["duplicates"]] == [1]

    stored = create(client, who.trusted, {**other, "duplicate_of": None})["study"]
    same_trial_other_id = {**other, "registration_id": "NCT00000003"}
    accepted = client.post("/v1/studies", json=same_trial_other_id, headers=who.trusted)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["study"]["id"] != stored["id"]
