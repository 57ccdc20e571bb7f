"""The Jinja2 environment of every page, and the headers pages are sent with.

Autoescaping is on for every template (not only ``.html`` ones), so every value a template
prints is escaped unless a template says otherwise, which none does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_URL = "/static"

# Pages load nothing from another host and run no inline script (OWASP CSP cheat sheet,
# "strict policy"); forms post only to this origin; plots are same-origin images; the curation
# queue fetches its previews from this origin.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

ASSET_CACHE = "public, max-age=86400"


class CachedStaticFiles(StaticFiles):
    """Static files that browsers may keep for a day (the API's default is ``no-store``)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", ASSET_CACHE)
        return response


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(
    request: Request,
    name: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The template ``name`` filled with ``context``, with the page security policy."""
    # The sign-out form in every page's header needs the session's token (when signed in).
    token = request.session.get("csrf", "")
    html = environment.get_template(name).render(
        static_url=STATIC_URL, session_csrf=token, **context
    )
    all_headers = {"Content-Security-Policy": PAGE_CSP, **(headers or {})}
    return HTMLResponse(html, status_code=status_code, headers=all_headers)
