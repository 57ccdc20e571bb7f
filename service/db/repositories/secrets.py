"""Webhook secrets still stored plain (migrated before the application had a key)."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from service.db.models import Webhook

PLAIN_PREFIX = "whsec_"  # an issued secret; a sealed one is a Fernet token ("gAAAAA...")


class SecretRepository:
    """Reads and replaces the plain secrets of ``webhook`` rows."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def plain(self) -> list[tuple[int, str, str | None]]:
        """(id, secret, previous secret) of each endpoint with a plain secret."""
        plain = or_(
            Webhook.secret.startswith(PLAIN_PREFIX),
            Webhook.previous_secret.startswith(PLAIN_PREFIX),
        )
        query = select(Webhook.id, Webhook.secret, Webhook.previous_secret).where(plain)
        return [(r.id, r.secret, r.previous_secret) for r in self._session.execute(query)]

    def replace(self, webhook_id: int, values: dict[str, str]) -> None:
        self._session.execute(update(Webhook).where(Webhook.id == webhook_id).values(values))
