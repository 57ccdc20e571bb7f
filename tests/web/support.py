"""Evidence for the page tests: included trials, a pending one, and hostile free text."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.pooled_support import trial

HOSTILE_TITLE = '<script>window.__xss = "title"</script><img src=x onerror="window.__xss=1">'
HOSTILE_AUTHORS = "<b onmouseover=alert(1)>Mallory</b>, Eve"
INCLUDED_SHIFTS = (0.2, 0.35, 0.1, 0.5, 0.25)
PENDING_SHIFT = 1.6


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def post_study(base_url: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST one study; the stored study."""
    response = httpx.post(f"{base_url}/v1/studies", json=body, headers=_bearer(key), timeout=30)
    assert response.status_code == 201, response.text
    study: dict[str, Any] = response.json()["study"]
    return study


def pending_body() -> dict[str, Any]:
    """The pending study's body (hostile free text, an effect that moves the pooled one)."""
    return trial(PENDING_SHIFT, n=120, title=HOSTILE_TITLE, authors=HOSTILE_AUTHORS, year=2024)


def seed(base_url: str, *, curator: str, submitter: str) -> dict[str, Any]:
    """Five included empowerment trials (a pooled answer) and one pending hostile one."""
    for i, shift in enumerate(INCLUDED_SHIFTS):
        post_study(base_url, curator, trial(shift, authors=f"Author{i} A, Other B", year=2010 + i))
    return post_study(base_url, submitter, pending_body())
