"""HTTP for bots: a request rate limit, retries with exponential backoff, and Retry-After.

Sources ask for restraint: ClinicalTrials.gov about 50 requests a minute
(https://clinicaltrials.gov/data-api/about-api/api-migration, "rate limit"), NCBI's
E-utilities at most 3 requests a second without an API key and 10 with one
(https://www.ncbi.nlm.nih.gov/books/NBK25497/, "Usage guidelines and requirements"). A 429
or a 5xx answer, a broken connection or a body that is not what was asked for (truncated JSON
or XML) is retried after ``backoff * 2**attempt`` seconds (or the server's ``Retry-After``), up
to ``retries`` times; then :class:`SourceError` says what went wrong, and the run is marked
failed so the next one searches the same window again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    """A source could not be read after every retry."""


@dataclass(slots=True)
class Polite:
    """An :class:`httpx.Client` that waits ``min_interval`` seconds between requests."""

    client: httpx.Client
    min_interval: float
    retries: int = 4
    backoff: float = 1.0
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    requests: int = 0
    _last: float | None = field(default=None, repr=False)
    _retry_after: float | None = field(default=None, repr=False)

    def _pace(self) -> None:
        if self._last is not None:
            wait = self.min_interval - (self.clock() - self._last)
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()

    def get(
        self, url: str, params: Mapping[str, Any], parse: Callable[[httpx.Response], Any]
    ) -> Any:
        """GET ``url`` and ``parse`` the answer, retrying what can be retried."""
        problem = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(min(self.max_wait, self._delay(attempt)))
            self._pace()
            self.requests += 1
            try:
                response = self.client.get(url, params=dict(params))
            except httpx.TransportError as error:
                problem = f"transport error: {error}"
                continue
            if response.status_code in RETRIED_STATUSES:
                problem = f"HTTP {response.status_code}"
                self._retry_after = _retry_after(response)
                continue
            self._retry_after = None
            if response.status_code >= 400:
                raise SourceError(f"{url}: HTTP {response.status_code}")
            try:
                return parse(response)
            except ValueError as error:
                problem = f"unreadable answer: {error}"
        raise SourceError(f"{url}: {problem} after {self.retries + 1} attempts")

    def _delay(self, attempt: int) -> float:
        after, self._retry_after = self._retry_after, None
        return after if after is not None else self.backoff * 2 ** (attempt - 1)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
