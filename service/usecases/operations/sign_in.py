"""Signing in to the pages with an API key: the key is checked once, the session keeps its id.

The browser never holds the key after the sign-in form: the signed session cookie holds the
key's public id, and every request looks the key up again, so a revoked key signs its
sessions out at their next request.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.db.models import ApiKey
from service.db.repositories.api_keys import ApiKeyRepository
from service.usecases.operations.keys import verify_api_key


def sign_in(session: Session, plaintext: str) -> ApiKey:
    """The key ``plaintext`` names; 401 (AuthenticationError) when it is not a valid key."""
    return verify_api_key(session, plaintext.strip())


def active_key(session: Session, public_id: str) -> ApiKey | None:
    """The key with ``public_id`` while it is not revoked, else ``None``."""
    api_key = ApiKeyRepository(session).by_public_id(public_id)
    if api_key is None or api_key.revoked_at is not None:
        return None
    return api_key
