"""``lma watch``: the reference update bot (:mod:`service.bots`), once, in a loop, or from cron.

It talks to a running service over HTTP with an API key of the ``submit`` scope (``--api-key``
or ``LMA_API_KEY``). ``--every SECONDS`` repeats the watch (a failed source is searched again
from its watermark next time); without it, one watch, as cron would run it::

    17 3 * * * cd /srv/lma && .venv/bin/lma watch --api-key "$KEY"
"""

from __future__ import annotations

import argparse
import os
import time
from typing import TYPE_CHECKING

from service.bots import CTGOV_URL, PUBMED_DEFAULT_TERM, PUBMED_URL, SOURCES

if TYPE_CHECKING:  # imported when the command runs: lma --help stays fast
    from service.bots.watch import WatchOptions


def _options(args: argparse.Namespace) -> WatchOptions:
    from service.bots import ctgov, pubmed
    from service.bots.watch import WatchOptions

    return WatchOptions(
        service_url=args.service,
        api_key=args.api_key or os.environ.get("LMA_API_KEY"),
        ctgov_url=args.ctgov_url,
        pubmed_url=args.pubmed_url,
        sources=args.source or SOURCES,
        ctgov_query=ctgov.Query(args.intr, args.cond, args.term),
        pubmed_term=args.pubmed_term,
        ncbi=pubmed.Credentials(email=args.email, api_key=os.environ.get("NCBI_API_KEY")),
        dry_run=args.dry_run,
        min_interval=args.min_interval,
        retries=args.retries,
        backoff=args.backoff,
    )


def _watch(args: argparse.Namespace) -> int:
    import httpx

    from service.bots.polite import SourceError
    from service.bots.watch import watch_once

    options = _options(args)
    while True:
        try:
            reports = watch_once(options)
        except (SourceError, httpx.HTTPError, OSError, ValueError) as error:  # the service
            print(f"lma watch: {error}")
            reports = []
            if args.every is None:
                return 1
        if args.every is None:
            return 0 if all(r.status != "failed" for r in reports) else 1
        time.sleep(args.every)


def add_watch_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``lma watch``."""
    parser = commands.add_parser(
        "watch", help="search ClinicalTrials.gov and PubMed for new trials"
    )
    parser.add_argument("--service", default="http://127.0.0.1:8000", help="the service's URL")
    parser.add_argument("--api-key", help="a key with the submit scope (default: $LMA_API_KEY)")
    parser.add_argument("--source", action="append", choices=SOURCES, help="default: both")
    parser.add_argument("--ctgov-url", default=CTGOV_URL)
    parser.add_argument("--pubmed-url", default=PUBMED_URL)
    parser.add_argument("--intr", default="peer support", help="ClinicalTrials.gov query.intr")
    parser.add_argument("--cond", default="", help="ClinicalTrials.gov query.cond")
    parser.add_argument("--term", default="", help="ClinicalTrials.gov query.term")
    parser.add_argument("--pubmed-term", default=PUBMED_DEFAULT_TERM)
    parser.add_argument("--email", help="sent to NCBI with each request, as it asks")
    parser.add_argument("--dry-run", action="store_true", help="search and print; post nothing")
    parser.add_argument("--every", type=float, help="repeat every SECONDS (default: once)")
    parser.add_argument(
        "--min-interval",
        type=float,
        help="seconds between requests to a source (default: 1.2 for ClinicalTrials.gov, "
        "1/3 for PubMed, 1/10 with NCBI_API_KEY); lower only for a local fixtures server",
    )
    parser.add_argument("--retries", type=int, default=4)
    parser.add_argument("--backoff", type=float, default=1.0, help="first retry delay (doubles)")
    parser.set_defaults(handler=_watch)
