"""Issue 28: the reference bot end to end, on both databases, without the internet.

A live service (uvicorn in a thread, on loopback) on a database seeded with the bundled
starter evidence; the fake ClinicalTrials.gov and PubMed serve the recorded fixtures, with a
429 and a truncated answer first. The bot finds the records, the service deduplicates them
(against each other and the starter evidence), a curator screens them, the CT.gov results
section becomes a pending study, the curator includes it, and the pooled answer counts it.
Nothing becomes a study without the curator's decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from service.bots.watch import WatchOptions, watch_once
from service.cli import main
from service.db.engine import Database
from service.main import create_app
from service.settings import Settings
from service.usecases import starter
from tests.api.studies_support import committed_key
from tests.conftest import migrated_database
from tests.support.fake_sources import EUTILS, serving

pytestmark = pytest.mark.db


@pytest.fixture
def settings_of_service(backend: str, tmp_path: Path) -> Iterator[Settings]:
    with migrated_database(backend, tmp_path) as url:
        settings = Settings(database_url=url, webhooks_deliver_in_api=False)
        database = Database.from_settings(settings)
        try:
            with database.session(write=True) as session:
                starter.seed(session, settings.metapsy_rob_quality)
        finally:
            database.dispose()
        yield settings


@pytest.fixture
def service_url(settings_of_service: Settings) -> Iterator[str]:
    config = uvicorn.Config(
        create_app(settings_of_service), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        assert thread.is_alive(), "the service stopped"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def _options(service: str, fake_url: str, key: str, **extra: Any) -> WatchOptions:
    return WatchOptions(
        service_url=service,
        api_key=key,
        ctgov_url=fake_url,
        pubmed_url=f"{fake_url}{EUTILS}",
        min_interval=0.0,
        backoff=0.0,
        retries=2,
        **extra,
    )


def _prisma(client: httpx.Client) -> dict[str, Any]:
    counts: dict[str, Any] = client.get("/v1/prisma").json()
    assert counts["identified"] == counts["duplicates_removed"] + counts["screened"]
    assert counts["screened"] == counts["awaiting"] + counts["excluded"] + counts["included"]
    return counts


def test_the_bot_finds_dedupes_and_a_screened_results_section_is_pooled(
    service_url: str, settings_of_service: Settings
) -> None:
    bot = committed_key(settings_of_service, ["submit"], name="watch-bot")
    curator_key = committed_key(settings_of_service, ["submit", "curate"], name="curator")
    curator = {"Authorization": f"Bearer {curator_key}"}
    lines: list[str] = []
    with serving() as (sources, fake), httpx.Client(base_url=service_url, timeout=60) as client:
        before = client.get("/v1/outcomes/empowerment/pooled").json()
        assert before["k"] == 4  # the starter evidence

        # A dry run reads the sources and posts nothing.
        dry = watch_once(_options(service_url, sources, bot, dry_run=True), say=lines.append)
        assert [(r.source, r.found, r.status) for r in dry] == [
            ("ctgov", 5, "dry-run"),
            ("pubmed", 3, "dry-run"),
        ]
        assert client.get("/v1/search-runs").json() == []

        fake.faults["/api/v2/studies"] += [429, "truncated"]
        fake.faults[f"{EUTILS}/efetch.fcgi"] += [503]
        reports = watch_once(_options(service_url, sources, bot), say=lines.append)
        assert [(r.source, r.found, r.new, r.duplicates, r.status) for r in reports] == [
            ("ctgov", 5, 5, 0, "succeeded"),
            ("pubmed", 3, 1, 2, "succeeded"),  # the NCT06000001 paper, and Boevink 2016
        ]
        studies_pages = [q for path, q in fake.requests if path == "/api/v2/studies"]
        assert studies_pages[-1]["pageToken"] == ["NF0g5JGFkw"]
        assert studies_pages[-1]["filter.advanced"][0].startswith(
            "AREA[LastUpdatePostDate]RANGE[MIN,"
        )
        assert studies_pages[-1]["query.intr"] == ["peer support"]

        counts = _prisma(client)
        assert (counts["identified"], counts["duplicates_removed"], counts["screened"]) == (8, 2, 6)
        assert (
            counts["ongoing"] == 2
        )  # recruiting NCT06000002, active NCT06000004; not the withdrawn one
        assert client.get("/v1/outcomes/empowerment/ongoing").json()["statement"] == (
            "2 registered trials expected to report by 2027"
        )
        queue = {c["nct_id"] or c["pmid"] or "?": c for c in client.get("/v1/candidates").json()}
        boevink = queue["39100002"]
        assert boevink["decision"] == "duplicate"
        assert "same first author and year" in boevink["note"]
        malformed = [c for c in queue.values() if c["nct_id"] is None and c["pmid"] is None]
        assert len(malformed) == 1
        assert any("malformed" in w for w in malformed[0]["warnings"])
        untitled = queue["39100003"]
        assert any("no title" in w for w in untitled["warnings"])
        trial = queue["NCT06000001"]
        assert (trial["pmid"], trial["doi"]) == ("39100001", "10.1000/ejpr.2026.0012")
        assert trial["decision"] == "unscreened"  # no study without a person's decision
        assert len(client.get("/v1/studies", params={"limit": 50}).json()["items"]) == 6

        draft = trial["draft"]
        assert [r["instrument"] for r in draft["outcome_results"]] == [
            "boston-empowerment-scale",
            "ismi",
        ]
        assert draft["outcome_results"][1]["data"]["form"] == "means_se"
        assert draft["outcome_results"][1]["timepoint"]["weeks"] == 13.0
        study = {**draft, "quality_rating": "moderate", "comparator": "treatment-as-usual"}
        included = client.post(
            f"/v1/candidates/{trial['id']}/screening",
            json={"decision": "include", "study": study},
            headers=curator,
        )
        assert included.status_code == 200, included.text
        study_id = included.json()["candidate"]["study_id"]
        assert client.get("/v1/outcomes/empowerment/pooled").json()["k"] == 4  # pending
        accepted = client.post(f"/v1/studies/{study_id}/include", headers=curator)
        assert accepted.status_code == 200, accepted.text
        assert client.get("/v1/outcomes/empowerment/pooled").json()["k"] == 5

        withdrawn = queue["NCT06000003"]
        excluded = client.post(
            f"/v1/candidates/{withdrawn['id']}/screening",
            json={"decision": "exclude", "reason": "not-a-trial-report"},
            headers=curator,
        )
        assert excluded.status_code == 200
        counts = _prisma(client)
        assert (counts["included"], counts["included_with_data"], counts["excluded"]) == (1, 1, 1)

        # The next watch starts at the watermark; the same records come back as duplicates.
        again = watch_once(
            _options(service_url, sources, bot, sources=("ctgov",)), say=lines.append
        )
        assert again[0].window_start is not None
        assert (again[0].new, again[0].duplicates) == (0, 5)
        assert _prisma(client)["screened"] == 6


def test_a_source_that_keeps_failing_marks_the_run_failed_and_keeps_the_watermark(
    service_url: str, settings_of_service: Settings
) -> None:
    bot = committed_key(settings_of_service, ["submit"], name="watch-bot")
    with serving() as (sources, fake), httpx.Client(base_url=service_url, timeout=60) as client:
        fake.faults[f"{EUTILS}/esearch.fcgi"] += [429, 429, 429]
        reports = watch_once(
            _options(service_url, sources, bot, sources=("pubmed",)), say=lambda _: None
        )
        assert [(r.status, r.found) for r in reports] == [("failed", 0)]
        runs = client.get("/v1/search-runs").json()
        assert [(r["source"], r["status"]) for r in runs] == [("pubmed", "failed")]
        assert "429" in runs[0]["note"]
        retry = watch_once(
            _options(service_url, sources, bot, sources=("pubmed",)), say=lambda _: None
        )
        assert retry[0].window_start is None  # the failed window is searched again
        assert retry[0].status == "succeeded"


def test_lma_watch_on_the_command_line(
    service_url: str,
    settings_of_service: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LMA_API_KEY", committed_key(settings_of_service, ["submit"], name="cron"))
    with serving() as (sources, _):
        argv = ["watch", "--service", service_url, "--ctgov-url", sources,
                "--pubmed-url", f"{sources}{EUTILS}", "--min-interval", "0"]  # fmt: skip
        assert main([*argv, "--dry-run", "--source", "ctgov"]) == 0
        assert "ctgov: would post NCT06000004" in capsys.readouterr().out
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "ctgov: 5 found, 5 new, 0 duplicates" in out
        assert "pubmed: 3 found, 1 new, 2 duplicates" in out
    # The sources are gone now: each source's run fails, and the exit status says so.
    assert main([*argv, "--retries", "0"]) == 1
    assert "the next watch searches this window again" in capsys.readouterr().out
    monkeypatch.delenv("LMA_API_KEY")
    assert main([*argv, "--service", "http://127.0.0.1:9"]) == 1
