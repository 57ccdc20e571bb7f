"""Storage of API keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import ApiKey


class ApiKeyRepository:
    """Lookups, listing and insertion of API keys."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def by_public_id(self, public_id: str) -> ApiKey | None:
        """The key whose ``lma_<public_id>_...`` prefix is ``public_id``, revoked or not."""
        return self._session.scalars(select(ApiKey).where(ApiKey.public_id == public_id)).first()

    def by_name(self, name: str) -> ApiKey | None:
        """The key called ``name``, revoked or not."""
        return self._session.scalars(select(ApiKey).where(ApiKey.name == name)).first()

    def all(self) -> Sequence[ApiKey]:
        """Every key, oldest first."""
        return self._session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()

    def add(self, api_key: ApiKey) -> ApiKey:
        """Insert ``api_key`` and flush, so that its id is known."""
        self._session.add(api_key)
        self._session.flush()
        return api_key
