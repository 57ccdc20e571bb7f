"""API fixtures: API keys created in the test's transaction, and their headers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import pytest
from sqlalchemy.orm import Session

from service.usecases.operations.keys import create_api_key

MakeKey = Callable[..., str]
Auth = Callable[[str], dict[str, str]]
_names = itertools.count(1)


@pytest.fixture
def make_key(session: Session) -> MakeKey:
    """``make_key(scopes, trusted=False) -> str``: a new key's plaintext, visible to ``client``."""

    def make(scopes: Iterable[str], trusted: bool = False) -> str:
        created = create_api_key(
            session, name=f"test-key-{next(_names)}", scopes=scopes, trusted=trusted
        )
        # Releases the session's savepoint; the test's outer transaction still rolls back.
        session.commit()
        return created.plaintext

    return make


@pytest.fixture
def auth() -> Auth:
    """``auth(key) -> dict``: the headers that present ``key``."""

    def headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    return headers
