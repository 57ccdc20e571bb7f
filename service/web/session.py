"""Who is using the pages: a signed session cookie, and a CSRF token for every form.

The cookie is Starlette's ``SessionMiddleware`` (signed with itsdangerous, ``HttpOnly``,
``SameSite=Strict``, ``Secure`` when the settings say the site is served over HTTPS). It holds
the signed-in key's public id and a random CSRF token; every form carries the token in a
hidden field and every POST compares it in constant time (OWASP CSRF cheat sheet,
"synchronizer token pattern"), on top of SameSite=Strict.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session

from service.api.auth import Principal
from service.api.deps import SessionDep, SettingsDep
from service.errors import AuthenticationError, PermissionDeniedError
from service.usecases.operations.keys import Scope
from service.usecases.operations.sign_in import active_key

SESSION_COOKIE = "lma_session"
SESSION_MAX_AGE = 8 * 60 * 60
_KEY = "key"
_CSRF = "csrf"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[_CSRF] = token
    return token


async def check_csrf(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> None:
    """403 unless the form's token is the session's."""
    expected = request.session.get(_CSRF)
    if not isinstance(expected, str) or not hmac.compare_digest(csrf, expected):
        raise PermissionDeniedError("The form is stale or was not sent from this site; reload it.")


CsrfDep = Annotated[None, Depends(check_csrf)]


def remember(request: Request, public_id: str) -> None:
    """Sign the session in as the key ``public_id``, with a fresh CSRF token."""
    request.session.clear()
    request.session[_KEY] = public_id
    csrf_token(request)


def forget(request: Request) -> None:
    """Sign the session out."""
    request.session.clear()


def _principal(session: Session, public_id: object) -> Principal | None:
    if not isinstance(public_id, str):
        return None
    api_key = active_key(session, public_id)
    if api_key is None:
        return None
    return Principal(api_key.id, api_key.name, frozenset(api_key.scopes), api_key.trusted)


def page_principal(request: Request, session: SessionDep) -> Principal | None:
    """The signed-in key, or ``None``; a revoked key's session is signed out."""
    principal = _principal(session, request.session.get(_KEY))
    if principal is None and _KEY in request.session:
        forget(request)
    return principal


def page_reader(
    settings: SettingsDep, principal: Annotated[Principal | None, Depends(page_principal)]
) -> Principal | None:
    """Who reads a page: as for the JSON reads, anyone unless REQUIRE_API_KEY_FOR_READS is on,
    then only a session signed in with a key that has the read scope (401 otherwise)."""
    if settings.require_api_key_for_reads and (principal is None or not principal.has(Scope.READ)):
        raise AuthenticationError("Reads need an API key: sign in at /sign-in with a read key.")
    return principal


def curator(principal: Annotated[Principal | None, Depends(page_principal)]) -> Principal:
    """The signed-in key when it may curate; 403 otherwise (the queue links to sign-in)."""
    if principal is None or not principal.has(Scope.CURATE):
        raise PermissionDeniedError("Sign in with a key that has the curate scope.")
    return principal


PagePrincipalDep = Annotated[Principal | None, Depends(page_principal)]
PageReaderDep = Annotated[Principal | None, Depends(page_reader)]
CuratorDep = Annotated[Principal, Depends(curator)]
