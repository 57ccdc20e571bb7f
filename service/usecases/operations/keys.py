"""API keys: creation, listing, revocation and verification.

A key is ``lma_<public id>_<secret>``: 64 random bits of public id, which finds the row, and
256 random bits of secret, of which only the SHA-256 digest is stored. A slow password hash
(bcrypt, argon2) exists to make guessing low-entropy passwords expensive; a 256-bit random
secret cannot be guessed however fast the hash is, so a slow hash would protect nothing and
only delay every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.models import ApiKey
from service.db.repositories.api_keys import ApiKeyRepository
from service.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError

KEY_PREFIX = "lma"
_PUBLIC_ID_BYTES = 8
_SECRET_BYTES = 32
# token_hex never yields "_", so the first "_" after the public id ends it.
_KEY_FORMAT = re.compile(r"lma_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# Compared against when the public id is unknown, so that both paths hash and compare.
_NO_SUCH_HASH = "0" * 64


class Scope(StrEnum):
    """What a key may do; ``admin`` implies every other scope."""

    READ = "read"
    SUBMIT = "submit"
    CURATE = "curate"
    SUBSCRIBE = "subscribe"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key and its plaintext, which exists only here and is never stored."""

    api_key: ApiKey
    plaintext: str = field(repr=False)


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret: its SHA-256 digest in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(scopes: Iterable[str]) -> list[str]:
    """Validated scope names, without duplicates, in the order of :class:`Scope`.

    Raises
    ------
    InvalidInputError
        When a name is not a scope, or no scope is given.
    """
    names = {s.strip().lower() for s in scopes if s.strip()}
    unknown = sorted(names - set(Scope))
    if unknown or not names:
        detail = f"Unknown scope(s): {', '.join(unknown)}." if unknown else "No scope given."
        allowed = ", ".join(Scope)
        error = {"field": "scopes", "message": f"{detail} Scopes are: {allowed}."}
        raise InvalidInputError(detail, errors=[error])
    return [scope.value for scope in Scope if scope in names]


def _validated_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        error = {"field": "name", "message": "A key's name has 1 to 100 characters."}
        raise InvalidInputError("Invalid key name.", errors=[error])
    return name


def create_api_key(
    session: Session, *, name: str, scopes: Iterable[str], trusted: bool = False
) -> CreatedKey:
    """Create a key; the plaintext in the result is the only copy there will ever be.

    Raises
    ------
    ConflictError
        When a key (even a revoked one) already has ``name``.
    """
    repository = ApiKeyRepository(session)
    name = _validated_name(name)
    if repository.by_name(name) is not None:
        raise ConflictError(f"An API key named {name!r} already exists.")
    public_id = secrets.token_hex(_PUBLIC_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    api_key = ApiKey(
        name=name,
        public_id=public_id,
        key_hash=hash_secret(secret),
        scopes=parse_scopes(scopes),
        trusted=trusted,
        created_at=utc_now(),
        revoked_at=None,
    )
    repository.add(api_key)
    return CreatedKey(api_key=api_key, plaintext=f"{KEY_PREFIX}_{public_id}_{secret}")


def list_api_keys(session: Session) -> Sequence[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    return ApiKeyRepository(session).all()


def revoke_api_key(session: Session, name: str, *, now: datetime | None = None) -> ApiKey:
    """Revoke the key called ``name`` (revoking twice keeps the first time).

    Raises
    ------
    NotFoundError
        When no key has ``name``.
    """
    api_key = ApiKeyRepository(session).by_name(name)
    if api_key is None:
        raise NotFoundError(f"No API key is named {name!r}.")
    if api_key.revoked_at is None:
        api_key.revoked_at = now or utc_now()
        session.flush()
    return api_key


def verify_api_key(session: Session, plaintext: str) -> ApiKey:
    """The live key whose plaintext is ``plaintext``.

    Raises
    ------
    AuthenticationError
        When ``plaintext`` is malformed, unknown, has the wrong secret, or was revoked.
        The message never repeats the key.
    """
    match = _KEY_FORMAT.fullmatch(plaintext)
    if match is None:
        raise AuthenticationError("The API key is malformed: expected lma_<key id>_<secret>.")
    public_id, secret = match.groups()
    api_key = ApiKeyRepository(session).by_public_id(public_id)
    expected = api_key.key_hash if api_key is not None else _NO_SUCH_HASH
    # compare_digest takes the same time wherever the digests first differ.
    if not hmac.compare_digest(expected, hash_secret(secret)) or api_key is None:
        raise AuthenticationError("The API key is not valid.")
    if api_key.revoked_at is not None:
        raise AuthenticationError("The API key was revoked.")
    return api_key
