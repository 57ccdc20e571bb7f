"""Mounts the pages: static files, the API documentation, the dashboard, the curation queue."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from service.settings import Settings
from service.web import curation, dashboard, docs, screening
from service.web.session import SESSION_COOKIE, SESSION_MAX_AGE
from service.web.session_secret import session_signing_key
from service.web.templating import STATIC, STATIC_URL, CachedStaticFiles


def install_pages(app: FastAPI, settings: Settings) -> None:
    """Add the pages and the session middleware that the curation queue signs in with."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_signing_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="strict",
        https_only=settings.session_cookie_secure,
    )
    docs.install_docs(app)
    app.mount(STATIC_URL, CachedStaticFiles(directory=STATIC), name="static")
    app.include_router(dashboard.router)
    app.include_router(curation.router)
    app.include_router(screening.router)
