"""Issue 28: search runs, candidates, screening, PRISMA counts and ongoing trials, by the API.

The PRISMA counts are checked after every step against what the step did (found, merged,
stored as duplicate, screened), and the two identities of the flow diagram are checked too.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, Headers, create
from tests.factories import fresh, peer_group_trial

pytestmark = pytest.mark.db

NCT_A, NCT_B, NCT_W = "NCT05000001", "NCT05000002", "NCT05000003"


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def start(client: TestClient, headers: Headers, source: str, query: str = "peer support") -> Any:
    response = client.post(
        "/v1/search-runs", json={"source": source, "query": query}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def post(client: TestClient, headers: Headers, run: int, *records: dict[str, Any]) -> Any:
    response = client.post(
        f"/v1/search-runs/{run}/candidates", json={"candidates": list(records)}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def finish(client: TestClient, headers: Headers, run: int, status: str = "succeeded") -> Any:
    response = client.post(
        f"/v1/search-runs/{run}/finish", json={"status": status}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def screen(client: TestClient, headers: Headers, candidate: int, **body: Any) -> Any:
    return client.post(f"/v1/candidates/{candidate}/screening", json=body, headers=headers)


def prisma(client: TestClient, **expected: int) -> dict[str, Any]:
    counts: dict[str, Any] = client.get("/v1/prisma").json()
    assert counts["identified"] == counts["duplicates_removed"] + counts["screened"]
    assert counts["screened"] == counts["awaiting"] + counts["excluded"] + counts["included"]
    assert counts["excluded"] == sum(counts["excluded_by_reason"].values())
    assert counts["identified"] == sum(counts["identified_by_source"].values())
    assert {name: counts[name] for name in expected} == expected
    return counts


def registry(nct: str, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "nct_id": nct,
        "title": title,
        "abstract": "A randomized trial of peer support on empowerment and self-stigma.",
        "publication_types": ["INTERVENTIONAL"],
        "registry_status": "RECRUITING",
        "completion_date": "2027-06",
        **extra,
    }


def test_a_search_is_deduplicated_screened_and_counted_at_every_step(
    client: TestClient, actors: Actors
) -> None:
    stored = create(client, actors.trusted, fresh(peer_group_trial()))["study"]
    prisma(client, identified=0, duplicates_removed=0, screened=0, included=0)

    run = start(client, actors.submitter, "ctgov")
    assert run["window_start"] is None
    assert run["status"] == "running"
    posted = post(
        client,
        actors.submitter,
        run["id"],
        registry(NCT_A, "Peer support groups for empowerment in psychosis"),
        registry(
            NCT_B,
            "Peer mentors and self-efficacy after discharge",
            registry_status="ACTIVE_NOT_RECRUITING",
            completion_date="2026-12-31",
        ),
        registry(NCT_A, "Peer support groups for empowerment in psychosis (update)"),
        {"title": stored["title"], "year": stored["year"], "authors": stored["authors"]},
    )
    results = [c["result"] for c in posted["candidates"]]
    assert results == ["new", "new", "duplicate", "duplicate"]
    assert posted["candidates"][3]["duplicate_of_study_id"] == stored["id"]
    assert (posted["run"]["found"], posted["run"]["new"], posted["run"]["duplicates"]) == (4, 2, 2)
    prisma(client, identified=4, duplicates_removed=2, screened=2, awaiting=2, included=0)

    # PubMed finds the publication of trial A (its DataBank names the NCT id): merged, not new.
    pubmed = start(client, actors.submitter, "pubmed")
    merged = post(
        client,
        actors.submitter,
        pubmed["id"],
        {
            "pmid": "39000001",
            "doi": "10.1000/PEER.1",
            "nct_id": NCT_A,
            "title": "Peer groups: an RCT",
        },
        {
            "pmid": "39000002",
            "title": "Mutual support and internalized stigma: a randomised trial",
            "publication_types": ["Randomized Controlled Trial"],
            "year": 2025,
        },
    )
    assert [c["result"] for c in merged["candidates"]] == ["duplicate", "new"]
    first = client.get(f"/v1/candidates/{posted['candidates'][0]['candidate_id']}").json()
    assert (first["pmid"], first["doi"]) == ("39000001", "10.1000/peer.1")
    prisma(client, identified=6, duplicates_removed=3, screened=3, awaiting=3)

    queue = client.get("/v1/candidates", params={"decision": "unscreened"}).json()
    assert [c["relevance"] for c in queue] == sorted((c["relevance"] for c in queue), reverse=True)
    ids = {c["nct_id"] or c["pmid"]: c["id"] for c in queue}

    refused = screen(client, actors.curator, ids[NCT_B], decision="exclude")
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["reason"]
    components = client.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/ScreeningCreate", "components": components}
    assert not jsonschema_rs.is_valid(schema, {"decision": "exclude"})  # the spec says so
    assert not jsonschema_rs.is_valid(schema, {"decision": "exclude", "reason": None})
    assert jsonschema_rs.is_valid(schema, {"decision": "exclude", "reason": "other"})
    assert jsonschema_rs.is_valid(schema, {"decision": "maybe"})
    assert screen(client, actors.submitter, ids[NCT_B], decision="maybe").status_code == 403
    assert (
        screen(
            client, actors.curator, ids[NCT_B], decision="exclude", reason="not-randomized"
        ).status_code
        == 200
    )
    prisma(client, screened=3, awaiting=2, excluded=1, included=0)
    assert screen(client, actors.curator, ids["39000002"], decision="maybe").status_code == 200
    prisma(client, awaiting=2, maybe=1, excluded=1)

    included = screen(client, actors.curator, ids[NCT_A], decision="include")
    assert included.status_code == 200, included.text
    assert included.json()["candidate"]["study_id"] is None  # nothing to extract yet
    assert (
        screen(client, actors.curator, ids[NCT_A], decision="exclude", reason="other").status_code
        == 409
    )
    counts = prisma(
        client,
        identified=6,
        duplicates_removed=3,
        screened=3,
        awaiting=1,
        excluded=1,
        included=1,
        included_with_data=0,
    )
    assert counts["excluded_by_reason"] == {"not-randomized": 1}
    assert counts["identified_by_source"] == {"ctgov": 4, "pubmed": 2}

    # The duplicate of the stored study is visible and may be screened by a person.
    duplicate = client.get("/v1/candidates", params={"decision": "duplicate"}).json()
    assert [c["duplicate_of_study_id"] for c in duplicate] == [stored["id"]]
    screen(client, actors.curator, duplicate[0]["id"], decision="exclude", reason="duplicate")
    prisma(client, identified=6, duplicates_removed=2, screened=4, excluded=2)

    svg = client.get("/v1/prisma/diagram.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "6 records identified" in svg.text


def test_include_turns_a_complete_draft_into_a_pending_study(
    client: TestClient, actors: Actors
) -> None:
    draft = {**fresh(peer_group_trial()), "registration_id": NCT_W}
    run = start(client, actors.submitter, "ctgov")
    posted = post(
        client,
        actors.submitter,
        run["id"],
        registry(NCT_W, draft["title"], has_results=True, draft=draft, registry_status="COMPLETED"),
    )
    candidate = posted["candidates"][0]["candidate_id"]
    done = screen(client, actors.curator, candidate, decision="include", note="results posted")
    assert done.status_code == 200, done.text
    study_id = done.json()["candidate"]["study_id"]
    study = client.get(f"/v1/studies/{study_id}", headers=actors.curator).json()
    assert study["status"] == "pending"
    assert study["registration_id"] == NCT_W
    prisma(client, included=1, included_with_data=1)
    # A withdrawn or reporting trial is not ongoing; nothing here is ongoing any more.
    assert client.get("/v1/outcomes/empowerment/ongoing").json()["count"] == 0


def test_bad_source_records_become_candidates_with_warnings(
    client: TestClient, actors: Actors
) -> None:
    run = start(client, actors.submitter, "pubmed")
    posted = post(
        client,
        actors.submitter,
        run["id"],
        {
            "nct_id": "NCT12",
            "pmid": "abc",
            "doi": "not-a-doi",
            "year": 3024,
            "completion_date": "soon",
        },
        {"title": "x" * 3000, "registry_status": "???"},
    )
    first, second = posted["candidates"]
    assert first["result"] == "new"
    assert any("nct_id" in w for w in first["warnings"])
    assert any("year 3024" in w for w in first["warnings"])
    assert any("no title" in w for w in first["warnings"])
    assert any("cut to 1000" in w for w in second["warnings"])
    stored = client.get(f"/v1/candidates/{first['candidate_id']}").json()
    assert (stored["nct_id"], stored["pmid"], stored["doi"], stored["year"]) == (
        None,
        None,
        None,
        None,
    )
    assert stored["decision"] == "unscreened"  # never excluded automatically


@pytest.mark.parametrize(
    ("draft", "valid"),
    [
        ({"title": "T", "arms": [{"label": "A", "n": 20}, "x", 1.5, None, True]}, True),
        ({"source": {"extracted_by": {"deep": ["list", {"of": "objects"}]}}}, True),
        ({"arms": [["nested", "array"]]}, False),  # an array directly in an array
        ({"arms": [{"label": "A\u0000"}]}, False),  # NUL in a string, two levels down
        ({"source": {"by\u0000": 1}}, False),  # NUL in a key, one level down
    ],
)
def test_the_spec_states_the_rules_of_a_draft(
    client: TestClient, actors: Actors, draft: dict[str, Any], valid: bool
) -> None:
    """Issue 25: the spec's schema of a candidate's draft and the validator agree (NUL in no
    key or string at any depth, no array in an array), and a refusal names the draft."""
    components = client.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/CandidateBatch", "components": components}
    body = {"candidates": [{"title": "A trial", "draft": draft}]}
    assert jsonschema_rs.is_valid(schema, body) is valid
    run = start(client, actors.submitter, "ctgov")
    url = f"/v1/search-runs/{run['id']}/candidates"
    answer = client.post(url, json=body, headers=actors.submitter)
    assert answer.status_code == (200 if valid else 422), answer.text
    if valid:
        stored = client.get(f"/v1/candidates/{answer.json()['candidates'][0]['candidate_id']}")
        assert stored.json()["draft"] == draft  # as sent
    else:
        fields = [error["field"] for error in answer.json()["errors"]]
        assert fields == ["candidates.0.draft"], answer.json()


@pytest.mark.parametrize(("query", "valid"), [(" q ", True), (" \t\u3000", False), ("", False)])
def test_the_spec_states_a_minimum_length_once_stripped(
    client: TestClient, actors: Actors, query: str, valid: bool
) -> None:
    """Issue 25: free text is stripped before its min_length counts, and its pattern says so."""
    components = client.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/SearchRunCreate", "components": components}
    body = {"source": "ctgov", "query": query}
    assert jsonschema_rs.is_valid(schema, body) is valid
    answer = client.post("/v1/search-runs", json=body, headers=actors.submitter)
    assert answer.status_code == (201 if valid else 422), answer.text
    if not valid:
        assert [error["field"] for error in answer.json()["errors"]] == ["query"]


def test_the_watermark_moves_only_after_a_successful_run(
    client: TestClient, actors: Actors
) -> None:
    first = start(client, actors.submitter, "ctgov")
    finish(client, actors.submitter, first["id"], "failed")
    again = start(client, actors.submitter, "ctgov")
    assert again["window_start"] is None  # the failed window is searched again
    finish(client, actors.submitter, again["id"])
    third = start(client, actors.submitter, "ctgov")
    assert third["window_start"] == again["window_end"]
    assert start(client, actors.submitter, "ctgov", "other query")["window_start"] is None
    closed = client.post(
        f"/v1/search-runs/{again['id']}/candidates",
        json={"candidates": [{"title": "t"}]},
        headers=actors.submitter,
    )
    assert closed.status_code == 409
    assert (
        client.post(
            "/v1/search-runs/999999/finish", json={"status": "failed"}, headers=actors.submitter
        ).status_code
        == 404
    )
    assert client.post("/v1/search-runs", json={"source": "ctgov", "query": "q"}).status_code == 401
    runs = client.get("/v1/search-runs", params={"source": "ctgov"}).json()
    assert [r["status"] for r in runs] == ["running", "running", "succeeded", "failed"]
    # A bot that died left its run open: the next run of the same search closes it.
    start(client, actors.submitter, "ctgov")
    runs = client.get("/v1/search-runs", params={"source": "ctgov"}).json()
    assert [r["status"] for r in runs] == ["running", "running", "failed", "succeeded", "failed"]
    assert runs[2]["id"] == third["id"]
    assert runs[2]["note"].startswith("abandoned")


def test_ongoing_trials_per_outcome_with_their_statement(
    client: TestClient, actors: Actors
) -> None:
    run = start(client, actors.submitter, "ctgov")
    post(
        client,
        actors.submitter,
        run["id"],
        registry(NCT_A, "Peer support and empowerment", completion_date="2026-09"),
        registry(NCT_B, "Peer support and empowerment in youth", completion_date="2027-03-01"),
        registry(NCT_W, "Peer support and empowerment, withdrawn", registry_status="WITHDRAWN"),
    )
    answer = client.get("/v1/outcomes/empowerment/ongoing").json()
    assert answer["count"] == 2
    assert [t["nct_id"] for t in answer["trials"]] == [NCT_A, NCT_B]
    assert answer["statement"] == "2 registered trials expected to report by 2027"
    assert client.get("/v1/outcomes/self-efficacy/ongoing").json()["count"] == 0
    assert client.get("/v1/outcomes/nothing/ongoing").status_code == 404
    assert prisma(client)["ongoing"] == 2


def test_a_new_candidate_is_announced_as_an_event(client: TestClient, actors: Actors) -> None:
    run = start(client, actors.submitter, "ctgov")
    posted = post(
        client, actors.submitter, run["id"], registry(NCT_A, "Peer support and empowerment")
    )
    events = client.get(
        "/v1/events", params={"type": "candidate.found"}, headers=actors.admin
    ).json()["items"]
    assert [e["data"]["candidate_id"] for e in events] == [posted["candidates"][0]["candidate_id"]]
    assert events[0]["data"]["nct_id"] == NCT_A
