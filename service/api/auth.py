"""Authentication by API key (``Authorization: Bearer lma_...``) and scope checks.

Every dependency here looks the key up once per request: they all build on
:func:`optional_principal`, which FastAPI caches for the request. The lookup uses the
request's read session; with a write route that is a second, short read transaction.

The dependencies are ``async def``: an anonymous request touches neither the database nor the
thread pool, and a request with a key makes one trip there, for the lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.api.deps import SessionDep, SettingsDep, shared_write_session
from service.api.rate_limit import RateLimiter
from service.errors import AuthenticationError, PermissionDeniedError
from service.settings import Settings
from service.usecases.operations.keys import Scope, verify_api_key
from service.usecases.studies.visibility import EVERYONE, Viewer

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="lma_<key id>_<secret>",
    description="An API key, created with `lma keys create`.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True, slots=True)
class Principal:
    """The API key a request authenticated with; it never holds the secret."""

    key_id: int
    name: str
    scopes: frozenset[str]
    trusted: bool

    def has(self, scope: str) -> bool:
        """Whether the key grants ``scope`` (``admin`` grants every scope)."""
        return scope in self.scopes or Scope.ADMIN in self.scopes


def _challenge(error: AuthenticationError) -> AuthenticationError:
    # RFC 9110 section 11.6.1: a 401 names the scheme the client should use.
    error.extra["headers"] = {"WWW-Authenticate": "Bearer"}
    return error


async def _rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def _verify(session: Session, secret: str, limiter: RateLimiter) -> Principal:
    try:
        api_key = verify_api_key(session, secret)
    except AuthenticationError as error:
        raise _challenge(error) from None
    limiter.hit(api_key.id)
    return Principal(
        key_id=api_key.id,
        name=api_key.name,
        scopes=frozenset(api_key.scopes),
        trusted=api_key.trusted,
    )


async def optional_principal(
    request: Request,
    session: SessionDep,
    credentials: BearerDep,
    limiter: Annotated[RateLimiter, Depends(_rate_limiter)],
) -> Principal | None:
    """The request's principal, or ``None`` without credentials; 401 for a bad key.

    Each authenticated request counts against its key's rate limit (429 past it). The key's
    name (never the key) goes to the request's log line.
    """
    if credentials is None:
        return None
    session = shared_write_session(request) or session
    principal = await run_in_threadpool(_verify, session, credentials.credentials, limiter)
    request.state.key_name = principal.name
    return principal


OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


def _authenticated(principal: Principal | None) -> Principal:
    if principal is None:
        detail = "This request needs an API key: send 'Authorization: Bearer <key>'."
        raise _challenge(AuthenticationError(detail))
    return principal


async def authenticated_principal(principal: OptionalPrincipalDep) -> Principal:
    """The request's principal, whatever its scopes; 401 without a valid key."""
    return _authenticated(principal)


AuthenticatedDep = Annotated[Principal, Depends(authenticated_principal)]


def _require(principal: Principal, scopes: tuple[str, ...]) -> None:
    missing = [scope for scope in scopes if not principal.has(scope)]
    if missing:
        raise PermissionDeniedError(
            f"This API key lacks the scope(s): {', '.join(missing)}.",
            extra={"required_scopes": list(scopes)},
        )


def require_scopes(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that returns the principal when it has every one of ``scopes``.

    Raises
    ------
    ValueError
        At import time, for a name that is not a :class:`Scope`.
    """
    unknown = set(scopes) - set(Scope)
    if unknown:
        raise ValueError(f"unknown scope(s): {sorted(unknown)}")

    async def dependency(principal: AuthenticatedDep) -> Principal:
        _require(principal, scopes)
        return principal

    dependency.required_scopes = scopes  # type: ignore[attr-defined]  # read by the docs
    return dependency


async def read_access(settings: SettingsDep, principal: OptionalPrincipalDep) -> Principal | None:
    """Who is reading: ``None`` for anonymous reads.

    A key that is sent must be valid, whatever the settings. When
    ``require_api_key_for_reads`` is on, a key with the ``read`` scope is required.
    """
    if not settings.require_api_key_for_reads:
        return principal
    principal = _authenticated(principal)
    _require(principal, (Scope.READ,))
    return principal


SubmitPrincipalDep = Annotated[Principal, Depends(require_scopes(Scope.SUBMIT))]
CuratePrincipalDep = Annotated[Principal, Depends(require_scopes(Scope.CURATE))]
AdminPrincipalDep = Annotated[Principal, Depends(require_scopes(Scope.ADMIN))]
ReadAccessDep = Annotated[Principal | None, Depends(read_access)]


def viewer_of(principal: Principal | None, settings: Settings) -> Viewer:
    """Who reads studies: curators (and admins) see every study, and so does everyone when
    ``unreviewed_studies_public`` is on; others see unreviewed studies only of their own key."""
    if settings.unreviewed_studies_public or (principal and principal.has(Scope.CURATE)):
        return EVERYONE
    return Viewer(actor=principal.name if principal else None)


async def study_viewer(settings: SettingsDep, principal: ReadAccessDep) -> Viewer:
    """:func:`viewer_of` the request's principal (the pages use it too)."""
    return viewer_of(principal, settings)


StudyViewerDep = Annotated[Viewer, Depends(study_viewer)]
