"""The pages over HTTP on both databases: escaping, the session, CSRF, curation via use cases."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import service.usecases.events.judged_reasons as judged_reasons
from service.web.templating import PAGE_CSP
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors, create
from tests.web.support import HOSTILE_AUTHORS, HOSTILE_TITLE

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _csrf(client: TestClient, path: str = "/sign-in") -> str:
    match = CSRF.search(client.get(path).text)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def _sign_in(client: TestClient, key: str) -> str:
    """Sign in; the Set-Cookie header."""
    response = client.post(
        "/sign-in", data={"key": key, "csrf": _csrf(client)}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/curate")
    return response.headers["set-cookie"]


def _evidence(client: TestClient, actors: Actors) -> int:
    add_batch(client, actors.trusted, [trial(0.1 * i, year=2010 + i) for i in range(4)])
    body = trial(1.5, title=HOSTILE_TITLE, authors=HOSTILE_AUTHORS, year=2024)
    response = client.post("/v1/studies", json=body, headers=actors.submitter)
    assert response.status_code == 201
    study_id: int = response.json()["study"]["id"]
    return study_id


def test_pages_escape_free_text_and_load_nothing_from_elsewhere(
    client: TestClient, actors: Actors
) -> None:
    study_id = _evidence(client, actors)
    for path in ("/", "/outcomes/empowerment", f"/studies/{study_id}", "/versions", "/sign-in"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == PAGE_CSP
        assert not re.search(r"https?://", response.text), path
        assert "<script>window" not in response.text
        assert "<b onmouseover" not in response.text
    page = client.get(f"/studies/{study_id}").text
    assert "&lt;script&gt;window.__xss = &#34;title&#34;&lt;/script&gt;" in page
    assert "&lt;b onmouseover=alert(1)&gt;Mallory&lt;/b&gt;, Eve" in page


def test_the_outcome_page_shows_the_pooled_answer(client: TestClient, actors: Actors) -> None:
    _evidence(client, actors)
    answer = pooled(client)["result"]
    page = client.get("/outcomes/empowerment").text
    estimate = f"{answer['estimate']:.2f} [{answer['ci_lower']:.2f}, {answer['ci_upper']:.2f}]"
    assert f'<p class="big" id="pooled-estimate">{estimate}</p>' in page
    version = pooled(client)["evidence_version"]
    assert f'src="/v1/outcomes/empowerment/forest.svg?as_of={version}"' in page
    assert 'href="/v1/outcomes/empowerment/pooled"' in page
    # The exports issue 17 added, linked because the app serves them.
    assert 'href="/v1/outcomes/empowerment/pooled?format=csv"' in page
    assert 'href="/v1/outcomes/empowerment/pooled/script.R"' in page


def test_a_curator_signs_in_and_includes_through_the_use_case(
    client: TestClient, actors: Actors
) -> None:
    study_id = _evidence(client, actors)
    curator = actors.key("submit", "curate")["Authorization"].removeprefix("Bearer ")
    cookie = _sign_in(client, curator).lower()
    assert cookie.startswith("lma_session=")
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert curator.lower() not in cookie
    queue = client.get("/curate")
    assert f'id="pending-{study_id}"' in queue.text
    token = _csrf(client, "/curate")
    included = client.post(
        f"/curate/studies/{study_id}/include", data={"csrf": token}, follow_redirects=False
    )
    assert included.status_code == 303
    study = client.get(f"/v1/studies/{study_id}").json()
    assert study["status"] == "included"
    audit = client.get("/v1/audit", headers=actors.key("admin")).json()["items"][0]
    assert (audit["action"], audit["resource_id"]) == ("include", study_id)
    assert audit["actor"].startswith("test-key-")
    assert audit["request_id"] == included.headers["x-request-id"]
    assert f'id="pending-{study_id}"' not in client.get("/curate").text


def test_exclude_needs_a_reason_and_records_it(client: TestClient, actors: Actors) -> None:
    study_id = _evidence(client, actors)
    _sign_in(client, actors.key("curate")["Authorization"].removeprefix("Bearer "))
    token = _csrf(client, "/curate")
    short = client.post(f"/curate/studies/{study_id}/exclude", data={"csrf": token, "reason": "x"})
    assert short.status_code == 422
    reason = "Not randomized <really>"
    done = client.post(
        f"/curate/studies/{study_id}/exclude",
        data={"csrf": token, "reason": reason},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get(f"/v1/studies/{study_id}").json()["status_reason"] == reason
    assert "Not randomized &lt;really&gt;" in client.get(f"/studies/{study_id}").text


def test_forms_without_the_session_token_are_refused(client: TestClient, actors: Actors) -> None:
    study_id = _evidence(client, actors)
    key = actors.key("curate")["Authorization"].removeprefix("Bearer ")
    assert client.post("/sign-in", data={"key": key}).status_code == 403
    assert client.post("/sign-in", data={"key": key, "csrf": "forged"}).status_code == 403
    _sign_in(client, key)
    forged = client.post(f"/curate/studies/{study_id}/include", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert client.get(f"/v1/studies/{study_id}").json()["status"] == "pending"


def test_a_key_without_curate_can_sign_in_but_not_curate(
    client: TestClient, actors: Actors
) -> None:
    study_id = _evidence(client, actors)
    bad = client.post("/sign-in", data={"key": "lma_nope", "csrf": _csrf(client)})
    assert bad.status_code == 401
    assert "not a valid API key" in bad.text
    _sign_in(client, actors.key("submit")["Authorization"].removeprefix("Bearer "))
    assert "has no <code>curate</code> scope" in client.get("/curate").text
    token = _csrf(client, f"/studies/{study_id}")
    refused = client.post(f"/curate/studies/{study_id}/include", data={"csrf": token})
    assert refused.status_code == 403
    assert client.get(f"/v1/studies/{study_id}").json()["status"] == "pending"


def test_signing_out_forgets_the_key(client: TestClient, actors: Actors) -> None:
    _evidence(client, actors)
    _sign_in(client, actors.key("curate")["Authorization"].removeprefix("Bearer "))
    token = _csrf(client, "/curate")
    assert client.post("/sign-out", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/curate", follow_redirects=False).headers["location"] == "/sign-in"


def _form_fields(page: str) -> dict[str, str]:
    # As a browser reads them: attribute values unescaped.
    return {k: html.unescape(v) for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', page)}


def test_a_curator_edits_a_study_with_its_etag(client: TestClient, actors: Actors) -> None:
    study_id = _evidence(client, actors)
    _sign_in(client, actors.key("submit", "curate")["Authorization"].removeprefix("Bearer "))
    fields = _form_fields(client.get(f"/curate/studies/{study_id}/edit").text)
    first_etag = fields["etag"]
    fields.update(title="Peer groups <revised>", year="2023")
    saved = client.post(f"/curate/studies/{study_id}/edit", data=fields, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    study = client.get(f"/v1/studies/{study_id}").json()
    assert (study["title"], study["year"]) == ("Peer groups <revised>", 2023)
    stale = {**fields, "etag": first_etag, "year": "2022"}
    assert client.post(f"/curate/studies/{study_id}/edit", data=stale).status_code == 412
    fresh = _form_fields(client.get(f"/curate/studies/{study_id}/edit").text)
    assert fresh["title"] == "Peer groups <revised>"
    assert (
        client.post(f"/curate/studies/{study_id}/edit", data={**fresh, "year": ""}).status_code
        == 422
    )


def test_pages_need_a_read_key_when_the_api_does(
    app: FastAPI, client: TestClient, actors: Actors
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"require_api_key_for_reads": True})
    for path in ("/", "/outcomes/empowerment", "/versions"):
        assert client.get(path).status_code == 401, path
    assert client.get("/sign-in").status_code == 200
    _sign_in(client, actors.key("submit")["Authorization"].removeprefix("Bearer "))
    assert client.get("/").status_code == 401  # signed in, but no read scope
    _sign_in(client, actors.key("read")["Authorization"].removeprefix("Bearer "))
    assert client.get("/").status_code == 200


def _text(fragment: str) -> str:
    """What a reader sees of ``fragment``: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _preview_rows(page: str) -> dict[str, dict[str, str]]:
    """The preview table's rows by id: the text of each side and of the conclusion."""
    rows = {}
    for row_id, row in re.findall(r'<tr id="(preview-[^"]+)">(.*?)</tr>', page, re.DOTALL):
        cells = dict(re.findall(r'<td class="(\w+)">(.*?)</td>', row, re.DOTALL))
        rows[row_id] = {name: _text(cell) for name, cell in cells.items()}
    return rows


def _side_text(side: dict[str, Any]) -> str:
    """The side of a POST /v1/studies/preview cell as the page must print it."""
    s = side["summary"]
    effect = f"{s['estimate']:.2f} [{s['ci_lower']:.2f}, {s['ci_upper']:.2f}]"
    level = side["certainty"]["level"].replace("_", " ").capitalize()  # the GRADE name
    return (
        f"{effect} k = {s['k']} · {s['participants']} participants {level} certainty "
        f"{side['statement']['text']}"
    )


def test_the_queue_previews_a_pending_study_as_the_api_does(
    client: TestClient, actors: Actors
) -> None:
    study_id = _evidence(client, actors)
    pending = client.get(f"/v1/studies/{study_id}").json()
    body = trial(1.5, title=pending["title"], authors=pending["authors"], year=2024)
    api = client.post("/v1/studies/preview", json=body, headers=actors.submitter).json()
    _sign_in(client, actors.key("curate")["Authorization"].removeprefix("Bearer "))
    queue = client.get("/curate").text
    assert f'href="/curate/studies/{study_id}/preview"' in queue
    assert 'src="/static/curation.js"' in queue
    with pytest.MonkeyPatch.context() as patch:  # the rolled-back include records no events
        patch.setattr(judged_reasons, "monitoring", _refused)
        page = client.get(f"/curate/studies/{study_id}/preview")
    assert page.status_code == 200
    rows = _preview_rows(page.text)
    changed = [c for c in api["cells"] if c["before"] != c["after"]]
    assert {c["category"] for c in changed} == {None, "peer-group"}  # not the other categories
    assert list(rows) == [f"preview-{c['outcome']}-{c['category'] or 'all'}" for c in changed]
    for cell in changed:
        row = rows[f"preview-{cell['outcome']}-{cell['category'] or 'all'}"]
        assert row["before"] == _side_text(cell["before"])
        assert row["after"] == _side_text(cell["after"])
        assert row["conclusion"].startswith(
            "would change" if cell["conclusion_changed"] else "stands"
        )
    # Nothing was stored: the study waits, and the pooled answer is still without it.
    assert client.get(f"/v1/studies/{study_id}").json()["status"] == "pending"
    assert study_id not in [s["study_id"] for s in pooled(client)["studies"]]
    assert "&lt;b onmouseover" in page.text


def _refused(*args: object) -> None:
    raise AssertionError("a preview computed its events")


def test_the_preview_needs_a_curator_and_a_known_study(client: TestClient, actors: Actors) -> None:
    study_id = _evidence(client, actors)
    assert client.get(f"/curate/studies/{study_id}/preview").status_code == 403
    _sign_in(client, actors.key("curate")["Authorization"].removeprefix("Bearer "))
    assert client.get("/curate/studies/999999/preview").status_code == 404
    included_id = pooled(client)["studies"][0]["study_id"]
    included = client.get(f"/curate/studies/{included_id}/preview")
    assert "Including it would change no pooled result." in included.text


def test_the_queue_is_paged(client: TestClient, actors: Actors) -> None:
    ids = [
        create(client, actors.submitter, trial(0.1, year=2000 + i))["study"]["id"] for i in range(3)
    ]
    _sign_in(client, actors.key("curate")["Authorization"].removeprefix("Bearer "))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("service.web.curation.QUEUE_PAGE", 2)
        first = client.get("/curate").text
        assert "3 pending studies." in first
        assert f'href="/curate?after={ids[1]}"' in first
        assert f'id="pending-{ids[2]}"' not in first
        second = client.get(f"/curate?after={ids[1]}").text
        assert f'id="pending-{ids[2]}"' in second
        assert 'rel="next"' not in second


def test_the_preview_is_priced_like_the_api(
    app: FastAPI, client: TestClient, actors: Actors
) -> None:
    study_id = _evidence(client, actors)
    _sign_in(client, actors.key("curate")["Authorization"].removeprefix("Bearer "))
    app.state.settings = app.state.settings.model_copy(update={"max_analysis_cost_with_key": 3})
    page = client.get(f"/curate/studies/{study_id}/preview")
    api = client.post("/v1/studies/preview", json=trial(0.4), headers=actors.submitter)
    for refused in (page, api):
        assert refused.status_code == 422, refused.text
        assert "MAX_ANALYSIS_COST_WITH_KEY" in refused.json()["detail"]
    assert client.get(f"/v1/studies/{study_id}").json()["status"] == "pending"


def test_the_summary_table_shows_each_cells_certainty_and_statement(
    client: TestClient, actors: Actors
) -> None:
    _evidence(client, actors)
    page = client.get("/").text
    cells = client.get("/v1/pooled").json()["cells"]
    shown = dict(re.findall(r'<td id="cell-([^"]+)"[^>]*>(.*?)</td>', page, re.DOTALL))
    assert len(shown) == len(cells)
    pooled_cells = 0
    for cell in cells:
        text = _text(shown[f"{cell['outcome']}-{cell['category'] or 'all'}"])
        if cell["certainty"]:
            pooled_cells += 1
            level = cell["certainty"]["level"].replace("_", " ").capitalize()
            assert f"{level} certainty {cell['statement']['text']}" in text
        elif cell["statement"]:
            assert f"Statement {cell['statement']['text']}" in text
    assert pooled_cells >= 2  # empowerment overall and peer groups


def _suspicious(client: TestClient, actors: Actors) -> int:
    """A pending study whose intervention SD looks like an SE (an error-level warning)."""
    add_batch(client, actors.trusted, [trial(0.1 * i, year=2010 + i) for i in range(4)])
    body = trial(0.4, year=2023)
    body["outcome_results"][0]["data"]["intervention"]["sd"] = 0.07
    response = client.post("/v1/studies", json=body, headers=actors.trusted)
    assert response.status_code == 201, response.text
    study_id: int = response.json()["study"]["id"]
    return study_id


def test_data_warnings_show_where_curators_decide(client: TestClient, actors: Actors) -> None:
    study_id = _suspicious(client, actors)
    field = "outcome_results.0.data.means.intervention.sd"
    _sign_in(client, actors.key("submit", "curate")["Authorization"].removeprefix("Bearer "))
    for path in ("/curate", f"/studies/{study_id}", f"/curate/studies/{study_id}/preview"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'data-code="sd-looks-like-se"' in page.text, path
        assert field in page.text, path
        assert '= <span class="value">0.07</span>' in page.text, path
        assert 'plausible: <span class="plausible">0.3 to 0.75; as an SE' in page.text, path
    queue = client.get("/curate").text
    assert f'id="include-reason-{study_id}"' in queue  # the include form asks why
    token = _csrf(client, "/curate")
    without = client.post(f"/curate/studies/{study_id}/include", data={"csrf": token})
    assert without.status_code == 422
    assert client.get(f"/v1/studies/{study_id}").json()["status"] == "pending"
    reason = "Table 2 reports it as an SD."
    done = client.post(
        f"/curate/studies/{study_id}/include",
        data={"csrf": token, "reason": reason},
        follow_redirects=False,
    )
    assert done.status_code == 303
    study = client.get(f"/v1/studies/{study_id}").json()
    assert (study["status"], study["status_reason"]) == ("included", reason)
    answer = pooled(client)
    [used] = [s for s in answer["studies"] if s["study_id"] == study_id]
    assert used["data_warnings"][0]["code"] == "sd-looks-like-se"
    outcome = client.get("/outcomes/empowerment").text  # the pooled answer's study list
    assert f"sd-looks-like-se: {field} = 0.07 (plausible: 0.3 to 0.75" in outcome


def test_pages_name_vocabulary_entries_as_the_vocabulary_does(
    client: TestClient, actors: Actors
) -> None:
    study_id = _evidence(client, actors)
    names = {c["slug"]: c["name"] for c in client.get("/v1/categories").json()["items"]}
    outcomes = {o["slug"]: o["name"] for o in client.get("/v1/outcomes").json()["items"]}
    study = client.get(f"/studies/{study_id}").text
    assert f"<dd>{html.escape(names['peer-group'])}</dd>" in study
    assert "<dd>peer-group</dd>" not in study
    summary = client.get("/").text
    assert f">{html.escape(outcomes['self-efficacy'])}</a>" in summary  # "Self-efficacy"
    assert ">Self efficacy</a>" not in summary
    assert f'<th scope="col">{html.escape(names["peer-group"])}</th>' in summary
    outcome = client.get("/outcomes/empowerment").text
    assert f"<td>{html.escape(names['peer-group'])}</td>" in outcome


def test_the_queue_shows_a_possible_duplicate_beside_the_study(
    client: TestClient, actors: Actors
) -> None:
    first = trial(0.3, doi=None, registration_id=None, year=2018)
    stored = create(client, actors.trusted, first)["study"]
    again = {**first, "title": first["title"].upper(), "year": 2019, "duplicate_of": None}
    pending = create(client, actors.submitter, again)["study"]  # confirmed, still pending
    _sign_in(client, actors.key("curate")["Authorization"].removeprefix("Bearer "))
    queue = client.get("/curate").text
    pair = f'id="duplicate-{pending["id"]}-{stored["id"]}"'
    assert f"pending-{pending['id']}" in queue
    assert pair in queue
    section = queue[queue.index(pair) : queue.index("</section>", queue.index(pair))]
    assert f'<a href="/studies/{stored["id"]}">study {stored["id"]}</a>' in section
    assert "<td>2019</td><td>2018</td>" in section
    assert "same arm sizes" in section
    assert "title similarity 100/100" in section


def test_the_dashboard_reads_the_same_version_as_the_api(
    client: TestClient, actors: Actors
) -> None:
    _evidence(client, actors)  # ends with a pending study: a version the table does not change
    newest = client.get("/v1/versions").json()["items"][0]["number"]
    table = client.get("/v1/pooled")
    answer = client.get("/v1/outcomes/empowerment/pooled")
    # The answers name the version that last changed them and, in a header, the newest.
    changed = table.json()["evidence_version"]
    assert changed == answer.json()["evidence_version"] == newest - 1
    assert table.headers["evidence-checked-version"] == str(newest)
    summary = client.get("/").text
    assert f"Evidence version {changed} (unchanged through version {newest}, the newest)." in (
        summary
    )
    outcome = client.get("/outcomes/empowerment").text
    assert f"evidence version {changed} (unchanged through version {newest}, the newest)" in (
        outcome
    )
