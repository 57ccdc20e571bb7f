"""The bot's source readers without a server: retries and backoff, paging, parsing, mapping."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from service.bots import ctgov, pubmed
from service.bots.polite import Polite, SourceError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "surveillance"
INSTRUMENTS = [
    ctgov.Instrument(
        "boston-empowerment-scale", "Boston University Empowerment Scale", "BES", "empowerment"
    ),
    ctgov.Instrument(
        "ismi", "Internalized Stigma of Mental Illness scale", "ISMI", "internalized-stigma"
    ),
    ctgov.Instrument(
        "ismi-10",
        "Internalized Stigma of Mental Illness scale, 10-item version",
        "ISMI-10",
        "internalized-stigma",
    ),
]


def _polite(answers: list[httpx.Response], sleeps: list[float], **options: Any) -> Polite:
    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Polite(client, min_interval=0.0, sleep=sleeps.append, **options)


def test_429_is_retried_after_retry_after_and_5xx_with_exponential_backoff() -> None:
    sleeps: list[float] = []
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503),
        httpx.Response(200, text='{"studies": [], "nextPa'),  # truncated
        httpx.Response(200, json={"studies": []}),
    ]
    http = _polite(answers, sleeps, retries=3, backoff=0.5)
    assert http.get("http://x/api", {}, lambda r: r.json()) == {"studies": []}
    assert sleeps == [7.0, 1.0, 2.0]
    assert http.requests == 4


def test_a_source_failing_every_retry_raises_source_error_and_a_404_at_once() -> None:
    sleeps: list[float] = []
    http = _polite([httpx.Response(500)] * 3, sleeps, retries=2, backoff=0.1)
    with pytest.raises(SourceError, match="HTTP 500 after 3 attempts"):
        http.get("http://x/api", {}, lambda r: r.json())
    with pytest.raises(SourceError, match="HTTP 404"):
        _polite([httpx.Response(404)], []).get("http://x/api", {}, lambda r: r.json())


def test_requests_are_paced_to_the_rate_limit() -> None:
    sleeps: list[float] = []
    clock = iter([0.0, 0.1, 1.2]).__next__
    answers = [httpx.Response(200, json={}), httpx.Response(200, json={})]
    http = _polite(answers, sleeps, clock=clock)
    http.min_interval = 1.2
    http.get("http://x", {}, lambda r: r.json())
    http.get("http://x", {}, lambda r: r.json())
    assert sleeps == [pytest.approx(1.1)]


def test_ctgov_pages_follow_next_page_token_over_the_window() -> None:
    seen: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params)
        page = "2" if "pageToken" in request.url.params else "1"
        return httpx.Response(200, content=(FIXTURES / f"ctgov-page-{page}.json").read_bytes())

    http = Polite(httpx.Client(transport=httpx.MockTransport(handler)), min_interval=0.0)
    studies = list(
        ctgov.search(
            http, "http://x", ctgov.Query(condition="psychosis"), date(2026, 1, 2), date(2026, 6, 1)
        )
    )
    assert len(studies) == 5
    assert seen[0]["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-01-02,2026-06-01]"
    assert (seen[0]["query.intr"], seen[0]["query.cond"]) == ("peer support", "psychosis")
    assert "query.term" not in seen[0]
    assert seen[1]["pageToken"] == "NF0g5JGFkw"


def test_a_results_section_becomes_a_draft_and_bad_records_warnings() -> None:
    page = json.loads((FIXTURES / "ctgov-page-1.json").read_text())
    trial = ctgov.candidate(page["studies"][0], INSTRUMENTS)
    assert trial["pmid"] == "39100001"  # the RESULT reference links the registry to PubMed
    draft = trial["draft"]
    assert (draft["registration_id"], draft["design"], draft["category"]) == (
        "NCT06000001",
        "randomized",
        "peer-group",
    )
    assert [a["n_randomized"] for a in draft["arms"]] == [62, 62]
    assert draft["total_randomized"] == 124
    empowerment, stigma = draft["outcome_results"]
    assert empowerment["data"] == {
        "form": "means",
        "intervention": {"mean": 3.05, "sd": 0.41, "n": 58},
        "control": {"mean": 2.84, "sd": 0.44, "n": 57},
    }
    assert stigma["instrument"] == "ismi"
    assert stigma["data"]["intervention"] == {"mean": 2.21, "se": 0.06, "n": 56}
    assert "quality_rating" not in draft  # the curator's to give
    broken = ctgov.candidate(
        json.loads((FIXTURES / "ctgov-page-2.json").read_text())["studies"][2], INSTRUMENTS
    )
    assert broken["has_results"] is False  # hasResults without a resultsSection
    assert broken["title"] is None
    assert ctgov.candidate({}, INSTRUMENTS)["warnings"] == ["the registry record has no nctId"]
    assert (
        ctgov.weeks("12 weeks"),
        ctgov.weeks("6 months"),
        ctgov.weeks("1 year"),
        ctgov.weeks("at end"),
    ) == (12.0, 26.0, 52.0, None)


def test_pubmed_records_give_ids_authors_year_and_registration() -> None:
    root = ElementTree.parse(FIXTURES / "pubmed-efetch.xml").getroot()
    first, boevink, untitled = (pubmed.candidate(a) for a in root.iter("PubmedArticle"))
    assert (first["pmid"], first["doi"], first["nct_id"], first["year"]) == (
        "39100001",
        "10.1000/EJPR.2026.0012",
        "NCT06000001",
        2026,
    )
    assert first["authors"] == "Example A, Jansen P"
    assert "Randomized Controlled Trial" in first["publication_types"]
    assert (boevink["authors"], boevink["year"]) == ("Boevink W, Kroon H", 2016)
    assert (untitled["title"], untitled["year"], untitled["authors"]) == (
        None,
        2026,
        "Peer Self-Management Study Group",
    )


def test_a_truncated_efetch_is_retried() -> None:
    body = (FIXTURES / "pubmed-efetch.xml").read_bytes()
    answers = [httpx.Response(200, content=body[:500]), httpx.Response(200, content=body)]
    http = _polite(answers, [], retries=1)
    records = pubmed.fetch(
        http, "http://x", ["39100001", "39100002", "39100003"], pubmed.Credentials(email="a@b.c")
    )
    assert [r["pmid"] for r in records] == ["39100001", "39100002", "39100003"]


def test_the_bot_imports_nothing_of_the_service_but_itself() -> None:
    """It talks to the service only through the public HTTP API, as any bot would."""
    import ast

    package = Path(__file__).resolve().parents[2] / "service" / "bots"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                assert not name.startswith("service.") or name.startswith("service.bots"), (
                    f"{path.name} imports {name}"
                )
