"""Issue 28: the screening queue page: candidates shown escaped, screened through the use case."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors
from tests.web.test_pages import _csrf, _sign_in

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]
HOSTILE = '<script>alert("x")</script> Peer support & empowerment'


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _found(client: TestClient, actors: Actors) -> int:
    run = client.post(
        "/v1/search-runs", json={"source": "pubmed", "query": "q"}, headers=actors.submitter
    ).json()
    posted = client.post(
        f"/v1/search-runs/{run['id']}/candidates",
        json={"candidates": [{"pmid": "39000009", "title": HOSTILE, "year": 2025}]},
        headers=actors.submitter,
    ).json()
    return int(posted["candidates"][0]["candidate_id"])


def test_a_curator_screens_from_the_queue_page(client: TestClient, actors: Actors) -> None:
    candidate = _found(client, actors)
    assert client.get("/screening", follow_redirects=False).headers["location"] == "/sign-in"
    _sign_in(client, actors.key("submit", "curate")["Authorization"].removeprefix("Bearer "))
    page = client.get("/screening").text
    assert f'id="candidate-{candidate}"' in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert "1 records identified" in page
    token = _csrf(client, "/screening")
    done = client.post(
        f"/screening/{candidate}",
        data={"csrf": token, "decision": "exclude", "reason": "not-randomized"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    stored = client.get(f"/v1/candidates/{candidate}").json()
    assert (stored["decision"], stored["exclusion_reason"]) == ("exclude", "not-randomized")
    assert f'id="candidate-{candidate}"' not in client.get("/screening").text
    assert f'id="candidate-{candidate}"' in client.get("/screening?decision=exclude").text


def test_a_key_without_curate_sees_the_queue_but_cannot_screen(
    client: TestClient, actors: Actors
) -> None:
    candidate = _found(client, actors)
    _sign_in(client, actors.key("submit")["Authorization"].removeprefix("Bearer "))
    page = client.get("/screening").text
    assert "read-only" in page
    assert f'action="/screening/{candidate}"' not in page
    token = _csrf(client, "/screening")
    refused = client.post(f"/screening/{candidate}", data={"csrf": token, "decision": "maybe"})
    assert refused.status_code == 403
    assert client.get(f"/v1/candidates/{candidate}").json()["decision"] == "unscreened"


def test_the_outcome_page_counts_the_trials_still_to_report(
    client: TestClient, actors: Actors
) -> None:
    run = client.post(
        "/v1/search-runs", json={"source": "ctgov", "query": "q"}, headers=actors.submitter
    ).json()
    titles = ("Peer mentors and empowerment in youth", "Recovery colleges for empowerment")
    registered = [
        {"nct_id": f"NCT0700000{i}", "title": title,
         "registry_status": "RECRUITING", "completion_date": f"202{6 + i}-05"}
        for i, title in enumerate(titles, start=1)
    ]  # fmt: skip
    client.post(
        f"/v1/search-runs/{run['id']}/candidates",
        json={"candidates": registered},
        headers=actors.submitter,
    )
    page = client.get("/outcomes/empowerment").text
    # The plain-language statement ends with them, and links to their list.
    statement = page.split('id="statement">', 1)[1].split("</p>", 1)[0]
    assert "2 registered trials are expected to report by 2028." in statement
    assert '<a href="/v1/outcomes/empowerment/ongoing" id="ongoing">2 ongoing trials</a>' in (
        statement
    )
    assert 'id="ongoing"' not in client.get("/outcomes/self-efficacy").text
