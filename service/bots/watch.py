"""One watch: for each source, a search run over the window since its watermark.

1. ask the service for the window (``POST /v1/search-runs``: the window starts where the last
   successful run of the same source and query ended; in a dry run, ``GET /v1/search-runs``
   tells the same without starting one);
2. search the source over the window (dates: both sources search by day, so the first day of
   a window overlaps the last one of the previous window, and a record found twice is merged
   by its ids as a duplicate);
3. post the records, 200 at a time, then finish the run: ``succeeded`` moves the watermark,
   ``failed`` (a source still failing after its retries) leaves it, so the next watch searches
   the same window again. A dry run prints what it found and posts nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx

from service.bots import CTGOV_URL, PUBMED_URL, SOURCES, ctgov, pubmed
from service.bots.polite import Polite, SourceError

POST_BATCH = 200
CTGOV_INTERVAL = 60 / 50  # ~50 requests a minute


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """Where the service and the sources are, what to search, and how politely."""

    service_url: str
    api_key: str | None
    ctgov_url: str = CTGOV_URL
    pubmed_url: str = PUBMED_URL
    sources: Sequence[str] = SOURCES
    ctgov_query: ctgov.Query = field(default_factory=ctgov.Query)
    pubmed_term: str = pubmed.DEFAULT_TERM
    ncbi: pubmed.Credentials = field(default_factory=pubmed.Credentials)
    dry_run: bool = False
    min_interval: float | None = None  # None: each source's own limit
    retries: int = 4
    backoff: float = 1.0
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class RunReport:
    source: str
    run_id: int | None
    window_start: str | None
    found: int
    new: int
    duplicates: int
    status: str
    note: str | None = None


class Service:
    """The service's public API, as the bot uses it."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def _json(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def instruments(self) -> list[ctgov.Instrument]:
        items = self._json(self._client.get("/v1/instruments"))["items"]
        return [
            ctgov.Instrument(i["slug"], i["name"], i.get("abbreviation"), i["outcome"])
            for i in items
        ]

    def watermark(self, source: str, query: str) -> str | None:
        runs = self._json(
            self._client.get("/v1/search-runs", params={"source": source, "limit": 200})
        )
        done = [r for r in runs if r["query"] == query and r["status"] == "succeeded"]
        return max((r["window_end"] for r in done), default=None)

    def start(self, source: str, query: str) -> dict[str, Any]:
        body: dict[str, Any] = self._json(
            self._client.post("/v1/search-runs", json={"source": source, "query": query})
        )
        return body

    def post(self, run_id: int, records: list[dict[str, Any]]) -> dict[str, Any]:
        last: dict[str, Any] = {}
        for first in range(0, len(records), POST_BATCH):
            chunk = records[first : first + POST_BATCH]
            last = self._json(
                self._client.post(
                    f"/v1/search-runs/{run_id}/candidates", json={"candidates": chunk}
                )
            )
        return last

    def finish(self, run_id: int, status: str, note: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = self._json(
            self._client.post(
                f"/v1/search-runs/{run_id}/finish", json={"status": status, "note": note}
            )
        )
        return body


def _day(stamp: str | None) -> date | None:
    return None if stamp is None else datetime.fromisoformat(stamp.replace("Z", "+00:00")).date()


def _records(
    source: str,
    options: WatchOptions,
    http: Polite,
    since: date | None,
    until: date,
    instruments: list[ctgov.Instrument],
) -> list[dict[str, Any]]:
    if source == "ctgov":
        studies = ctgov.search(http, options.ctgov_url, options.ctgov_query, since, until)
        return [ctgov.candidate(study, instruments) for study in studies]
    pmids = list(
        pubmed.search(http, options.pubmed_url, options.pubmed_term, since, until, options.ncbi)
    )
    return pubmed.fetch(http, options.pubmed_url, pmids, options.ncbi)


def _interval(source: str, options: WatchOptions) -> float:
    if options.min_interval is not None:
        return options.min_interval
    if source == "ctgov":
        return CTGOV_INTERVAL
    return 0.1 if options.ncbi.api_key else 1 / 3


def _query(source: str, options: WatchOptions) -> str:
    return options.ctgov_query.text() if source == "ctgov" else options.pubmed_term


def watch_once(
    options: WatchOptions,
    *,
    service_transport: httpx.BaseTransport | None = None,
    say: Callable[[str], None] = print,
) -> list[RunReport]:
    """Steps 1-3 of the module docstring for every source in ``options.sources``."""
    headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
    with (
        httpx.Client(
            base_url=options.service_url,
            headers=headers,
            timeout=options.timeout,
            transport=service_transport,
        ) as client,
        httpx.Client(timeout=options.timeout, headers={"User-Agent": "lma-watch/1"}) as sources,
    ):
        service = Service(client)
        instruments = service.instruments()
        return [
            _watch_source(source, options, service, sources, instruments, say)
            for source in options.sources
        ]


def _watch_source(
    source: str,
    options: WatchOptions,
    service: Service,
    sources: httpx.Client,
    instruments: list[ctgov.Instrument],
    say: Callable[[str], None],
) -> RunReport:
    query = _query(source, options)
    http = Polite(
        sources,
        min_interval=_interval(source, options),
        retries=options.retries,
        backoff=options.backoff,
    )
    until = datetime.now(UTC).date()
    if options.dry_run:
        start, run_id = service.watermark(source, query), None
    else:
        run = service.start(source, query)
        start, run_id = run["window_start"], run["id"]
    try:
        records = _records(source, options, http, _day(start), until, instruments)
    except SourceError as error:
        say(f"{source}: {error}; the next watch searches this window again")
        if run_id is not None:
            service.finish(run_id, "failed", str(error)[:2000])
        return RunReport(source, run_id, start, 0, 0, 0, "failed", str(error))
    if run_id is None:
        for record in records:
            ident = record.get("nct_id") or record.get("pmid")
            say(f"{source}: would post {ident}: {str(record.get('title'))[:80]}")
        return RunReport(source, None, start, len(records), 0, 0, "dry-run")
    if records:
        service.post(run_id, records)
    counts = service.finish(run_id, "succeeded")
    found, new, duplicates = counts["found"], counts["new"], counts["duplicates"]
    say(f"{source}: {found} found, {new} new, {duplicates} duplicates ({http.requests} requests)")
    return RunReport(
        source, run_id, start, counts["found"], counts["new"], counts["duplicates"], "succeeded"
    )
