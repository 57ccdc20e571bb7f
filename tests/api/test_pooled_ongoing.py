"""Issue 28, item 4: the pooled answer counts the outcome's ongoing trials.

The count is no evidence version, yet it changes the answer: every step below checks the
sentence, the structured fields, and that the ETag moved with them (a client holding the old
ETag gets 200, not a 304 with a stale sentence). Requests after the first of a URL go through
the fast read path (the test app has a head probe), so it is checked as well.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors, Headers, create
from tests.factories import fresh, peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

URL = "/v1/outcomes/empowerment/pooled"
NCT_A, NCT_B, NCT_C = "NCT06000001", "NCT06000002", "NCT06000003"
# Titles far apart: similar ones would be merged as one trial (see surveillance.dedup).
TITLES = {
    NCT_A: "Peer support groups for empowerment in psychosis",
    NCT_B: "Online recovery mentoring and empowerment of young adults",
    NCT_C: "Clubhouse membership: empowerment after discharge",
}
TWO = "2 registered trials are expected to report by 2027."
ONE = "1 registered trial is expected to report by 2026."


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _registered(nct: str, completion: str, **extra: Any) -> dict[str, Any]:
    return {
        "nct_id": nct,
        "title": TITLES[nct],
        "abstract": "A randomized trial of peer support on empowerment.",
        "publication_types": ["INTERVENTIONAL"],
        "registry_status": "RECRUITING",
        "completion_date": completion,
        **extra,
    }


def _post(client: TestClient, headers: Headers, *records: dict[str, Any]) -> list[int]:
    """One ClinicalTrials.gov run that posts ``records``; the candidates' ids."""
    run = client.post(
        "/v1/search-runs", json={"source": "ctgov", "query": "peer support"}, headers=headers
    ).json()
    posted = client.post(
        f"/v1/search-runs/{run['id']}/candidates",
        json={"candidates": list(records)},
        headers=headers,
    )
    assert posted.status_code == 200, posted.text
    return [c["candidate_id"] for c in posted.json()["candidates"]]


def _get(client: TestClient, etag: str | None = None, **params: Any) -> Any:
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(URL, params=params, headers=headers)


def _plain(answer: dict[str, Any]) -> str:
    plain: str = answer["statement"]["plain_language"]
    return plain


def test_the_statement_counts_ongoing_trials_and_the_etag_follows(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    before = _get(client)
    assert before.status_code == 200
    assert "ongoing" not in before.json()
    assert "registered" not in _plain(before.json())
    etag = before.headers["etag"]
    assert _get(client, etag).status_code == 304

    _post(
        client,
        actors.submitter,
        _registered(NCT_A, "2026-09"),
        _registered(NCT_B, "2027-03-01"),
        _registered(NCT_C, "2028-01", registry_status="WITHDRAWN"),  # will not report
    )
    stale = _get(client, etag)  # the old ETag: the full new answer, not a 304
    assert stale.status_code == 200
    assert stale.headers["etag"] != etag
    answer = stale.json()
    assert answer["ongoing"] == {
        "count": 2,
        "expected_by": 2027,
        "sentence": TWO,
        "href": "/v1/outcomes/empowerment/ongoing",
    }
    assert _plain(answer).endswith(f". {TWO}")
    assert _plain(answer).removesuffix(f" {TWO}") == _plain(before.json())
    assert answer["statement"]["text"] == before.json()["statement"]["text"]
    assert answer["evidence_version"] == before.json()["evidence_version"]  # no new version
    counted = stale.headers["etag"]
    assert _get(client, counted).status_code == 304
    assert _get(client).json() == answer  # again, from the cache (the fast path)
    assert client.get("/v1/outcomes/empowerment/ongoing").json()["count"] == 2

    summary = client.get(URL, params={"view": "summary"}).json()
    assert summary["ongoing"]["count"] == 2
    # Another outcome's answer has none (no registration names it).
    assert "ongoing" not in client.get("/v1/outcomes/self-efficacy/pooled").json()

    # Trial A posts its results: it is no longer ongoing.
    _post(client, actors.submitter, _registered(NCT_A, "2026-09", has_results=True))
    reported = _get(client, counted)
    assert reported.status_code == 200
    assert reported.json()["ongoing"]["count"] == 1
    assert _plain(reported.json()).endswith("1 registered trial is expected to report by 2027.")
    assert reported.headers["etag"] not in (etag, counted)


def test_a_status_change_or_a_study_leaves_the_count(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    etag = _get(client).headers["etag"]
    a, b = _post(
        client, actors.submitter, _registered(NCT_A, "2026-05"), _registered(NCT_B, "2027-02")
    )
    both = _get(client).headers["etag"]
    assert _get(client).json()["ongoing"]["count"] == 2

    # A curator excludes B: one left, due in 2026.
    excluded = client.post(
        f"/v1/candidates/{b}/screening",
        json={"decision": "exclude", "reason": "not-randomized"},
        headers=actors.curator,
    )
    assert excluded.status_code == 200, excluded.text
    one = _get(client, both)
    assert one.status_code == 200
    assert one.json()["ongoing"]["sentence"] == ONE
    assert _plain(one.json()).endswith(ONE)

    # A becomes a study (registered under its NCT id): nothing is ongoing, the answer is the
    # one without trials to come, byte for byte, and so is its ETag.
    create(client, actors.submitter, {**fresh(peer_group_trial()), "registration_id": NCT_A})
    none = _get(client, one.headers["etag"])
    assert none.status_code == 200
    assert "ongoing" not in none.json()
    assert "registered" not in _plain(none.json())
    assert none.headers["etag"] == etag
    assert client.get("/v1/outcomes/empowerment/ongoing").json()["count"] == 0
    assert client.get(f"/v1/candidates/{a}").json()["decision"] == "unscreened"


def test_a_candidate_that_changes_nothing_keeps_the_etag(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    _post(client, actors.submitter, _registered(NCT_A, "2027-01"))
    counted = _get(client)
    # A PubMed-like record without an NCT id, and a trial of another outcome only.
    _post(
        client,
        actors.submitter,
        {"pmid": "39000009", "title": "Mutual aid groups: a qualitative study", "year": 2025},
        {**_registered(NCT_B, "2029-01"), "title": "Peer mentors and self-efficacy",
         "abstract": "A randomized trial of peer mentors on self-efficacy."},
    )  # fmt: skip
    assert _get(client, counted.headers["etag"]).status_code == 304
    assert _get(client).json()["ongoing"]["count"] == 1


def test_a_pinned_answer_carries_no_count(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    version = _get(client).json()["evidence_version"]
    pinned = _get(client, as_of=version)
    _post(client, actors.submitter, _registered(NCT_A, "2027-01"))
    again = _get(client, as_of=version)
    assert again.status_code == 200
    assert "ongoing" not in again.json()
    assert again.headers["etag"] == pinned.headers["etag"]
    assert (again.content, again.headers["cache-control"]) == (
        pinned.content,
        pinned.headers["cache-control"],
    )
    assert _get(client).json()["ongoing"]["count"] == 1


def test_a_trial_included_as_a_study_leaves_the_count(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    (candidate,) = _post(client, actors.submitter, _registered(NCT_A, "2027-01"))
    counted = _get(client)
    assert counted.json()["ongoing"]["count"] == 1
    # The curator has the data (from the authors, say) and includes it as a study.
    study = fresh(
        peer_group_trial(
            title="Peer support groups for empowerment in psychosis: a randomized trial",
            authors="Okafor N, Lindqvist E",
            year=2027,
        )
    )
    study.pop("registration_id", None)  # the candidate's link alone takes it off the list
    included = client.post(
        f"/v1/candidates/{candidate}/screening",
        json={"decision": "include", "study": study},
        headers=actors.curator,
    )
    assert included.status_code == 200, included.text
    assert included.json()["candidate"]["study_id"] is not None
    after = _get(client, counted.headers["etag"])
    assert after.status_code == 200
    assert "ongoing" not in after.json()
