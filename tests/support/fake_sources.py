"""A fake ClinicalTrials.gov and PubMed on loopback, serving the recorded fixtures.

``tests/fixtures/surveillance/`` holds responses shaped as the documented ones (CT.gov API v2
``/api/v2/studies`` pages linked by ``nextPageToken``; E-utilities ``esearch`` JSON and
``efetch`` XML). Faults can be scripted per path, served before the recorded answer: ``429``
(with ``Retry-After: 0``), ``500``, ``"truncated"`` (the answer cut in half). Every request is
recorded, so tests can check what the bot asked. Run it by hand for the README's example::

    .venv/bin/python -m tests.support.fake_sources --port 8765
"""

from __future__ import annotations

import argparse
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "surveillance"
EUTILS = "/entrez/eutils"


class FakeSources:
    """The server's state: scripted faults and the requests seen."""

    def __init__(self) -> None:
        self.faults: dict[str, list[int | str]] = defaultdict(list)
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.lock = threading.Lock()

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        with self.lock:
            self.requests.append((path, query))
            fault = self.faults[path].pop(0) if self.faults[path] else None
        body, media = self._recorded(path, query)
        if fault == "truncated":
            return 200, media, body[: len(body) // 2]
        if isinstance(fault, int):
            return fault, "text/plain", b"slow down"
        return (200, media, body) if body else (404, "text/plain", b"no fixture")

    def _recorded(self, path: str, query: dict[str, list[str]]) -> tuple[bytes, str]:
        if path == "/api/v2/studies":
            page = "2" if query.get("pageToken") else "1"
            return (FIXTURES / f"ctgov-page-{page}.json").read_bytes(), "application/json"
        if path == f"{EUTILS}/esearch.fcgi":
            return (FIXTURES / "pubmed-esearch.json").read_bytes(), "application/json"
        if path == f"{EUTILS}/efetch.fcgi":
            return (FIXTURES / "pubmed-efetch.xml").read_bytes(), "text/xml"
        return b"", "text/plain"


def _handler(state: FakeSources) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, media, body = state.answer(parts.path, parse_qs(parts.query))
            self.send_response(status)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(body)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    return Handler


@contextmanager
def serving(port: int = 0) -> Iterator[tuple[str, FakeSources]]:
    """The fake sources on ``127.0.0.1:port`` (0: any free port): its base URL and state."""
    state = FakeSources()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    # A short poll interval: shutdown() waits for one, 0.5 s by default, at each test's end.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    port = parser.parse_args().port
    with serving(port) as (url, _):
        print(f"ClinicalTrials.gov at {url}, PubMed at {url}{EUTILS} (Ctrl-C stops)", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
