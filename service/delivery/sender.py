"""One attempt: a signed POST to a checked address, and what came back.

Wire format: the Standard Webhooks specification (github.com/standard-webhooks), signed by
its reference library: ``webhook-id`` (the event's id, the same on every retry),
``webhook-timestamp`` (seconds), ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` of
``{id}.{timestamp}.{body}``, one per active secret, space-separated during a rotation).
Success is a 2xx within the timeout; a redirect is a failure and is not followed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks import Webhook as Signer

from service.delivery.targets import Target

EXCERPT_BYTES = 2048
USER_AGENT = "living-meta-analysis-webhooks/1"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: a status code (None when no answer came) or an error."""

    status_code: int | None
    duration_ms: int
    error: str | None = None
    excerpt: str | None = None
    retry_after: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signature_header(secrets: Sequence[str], msg_id: str, at: datetime, body: str) -> str:
    """``webhook-signature``: one ``v1,...`` per secret, space-separated."""
    return " ".join(Signer(secret).sign(msg_id, at, body) for secret in secrets)


def signed_headers(secrets: Sequence[str], msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """Every header of a delivery."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(secrets, msg_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked target, ready for requests: prepared once per batch, not per delivery."""

    url: httpx.URL  # the checked address: not whatever the name resolves to a moment later
    host: str  # the Host header: the name in the URL
    extensions: dict[str, Any]  # TLS SNI for the name, the timeout


def destination(target: Target, timeout: float) -> Destination:
    """Where requests to ``target`` go, each ending within ``timeout`` seconds."""
    url = httpx.URL(target.url)
    host = target.host if url.port is None else f"{target.host}:{url.port}"
    extensions = {"sni_hostname": target.host, "timeout": httpx.Timeout(timeout).as_dict()}
    return Destination(url.copy_with(host=target.address), host, extensions)


def _read_excerpt(response: httpx.Response) -> str:
    taken = bytearray()
    for chunk in response.iter_bytes():
        taken.extend(chunk)
        if len(taken) >= EXCERPT_BYTES:
            break
    return bytes(taken[:EXCERPT_BYTES]).decode("utf-8", errors="replace")


def post(client: httpx.Client, to: Destination, headers: dict[str, str], body: str) -> Outcome:
    """POST ``body``; never raises for what the network or the receiver does."""
    started = time.monotonic()
    request = client.build_request(
        "POST",
        to.url,
        content=body.encode(),
        headers={**headers, "host": to.host},
        extensions=to.extensions,
    )
    try:
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            excerpt = _read_excerpt(response)
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return Outcome(None, _ms(started), error=f"{type(exc).__name__}: {exc}"[:500])
    error = "redirect not followed" if response.is_redirect else None
    return Outcome(
        response.status_code,
        _ms(started),
        error=error,
        excerpt=excerpt,
        retry_after=response.headers.get("retry-after"),
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
