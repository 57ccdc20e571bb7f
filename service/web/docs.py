"""Self-hosted API documentation: Swagger UI 5 at ``/docs`` and ReDoc 2 at ``/redoc``.

FastAPI's own pages load their scripts, styles and fonts from CDNs, so they are blank on a
network without internet access. The assets here come from the pinned ``fastapi-offline``
wheel (MIT; it bundles swagger-ui-dist 5.32.6 and redoc 2.5.3 under their own licences), served
from this process, and the pages start Swagger UI from a static file instead of an inline
script, so their Content-Security-Policy names no host but this one.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from service.web.templating import ASSET_CACHE, CachedStaticFiles, render

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSET_URL = "/static/docs"
ASSETS = Path(str(files("fastapi_offline") / "static"))
# Swagger UI sets inline style attributes and ReDoc injects <style> elements (styled
# components), so styles need 'unsafe-inline'; scripts come from this origin only. ReDoc's
# search runs in a worker started from a blob: URL.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

# The one address of another host in ReDoc's bundle: the Redocly logo in its sidebar, which it
# loads unconditionally. Served with that address replaced by an empty inline image, so the
# page asks no other host for anything (and logs no CSP violation).
REDOC_SCRIPT = "/static/redoc.offline.js"
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_EMPTY_IMAGE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"

router = APIRouter(include_in_schema=False)


def _offline_redoc() -> bytes:
    bundle = (ASSETS / "redoc.standalone.js").read_bytes()
    assert _REDOC_LOGO in bundle, "the ReDoc bundle changed: check what it loads from elsewhere"
    return bundle.replace(_REDOC_LOGO, _EMPTY_IMAGE)


_REDOC_BUNDLE = _offline_redoc()


def _page(request: Request, template: str) -> HTMLResponse:
    return render(
        request,
        template,
        headers={"Content-Security-Policy": DOCS_CSP},
        title=request.app.title,
        openapi_url=request.app.openapi_url,
        asset_url=ASSET_URL,
    )


@router.get(DOCS_PATH, response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the app's OpenAPI document."""
    return _page(request, "swagger.html")


@router.get(REDOC_PATH, response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc on the app's OpenAPI document."""
    return _page(request, "redoc.html")


@router.get(REDOC_SCRIPT)
async def redoc_script() -> Response:
    """ReDoc's standalone bundle, asking no other host for its logo."""
    return Response(
        _REDOC_BUNDLE, media_type="text/javascript", headers={"Cache-Control": ASSET_CACHE}
    )


def install_docs(app: FastAPI) -> None:
    """Serve the documentation pages and their assets (create the app with docs_url=None)."""
    app.mount(ASSET_URL, CachedStaticFiles(directory=ASSETS), name="docs-assets")
    app.include_router(router)
