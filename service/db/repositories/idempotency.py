"""Storage of idempotency records.

A key is claimed with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``. On PostgreSQL an
insert that conflicts with another transaction's uncommitted row waits for that transaction
to end, so concurrent retries queue behind the first request instead of running twice; on
SQLite, write transactions already run one at a time (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Insert, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db.models import IdempotencyRecord

_UNIQUE_KEY = ["api_key_id", "key"]


def _insert_unless_present(dialect: str, values: dict[str, Any]) -> Insert:
    # ON CONFLICT is dialect syntax; both dialects spell it the same way in SQLAlchemy.
    if dialect == "postgresql":
        pg = postgresql.insert(IdempotencyRecord).values(values)
        return pg.on_conflict_do_nothing(index_elements=_UNIQUE_KEY)
    lite = sqlite.insert(IdempotencyRecord).values(values)
    return lite.on_conflict_do_nothing(index_elements=_UNIQUE_KEY)


class IdempotencyRepository:
    """Claims, lookups, stored responses and purges of idempotency records."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim(
        self, *, api_key_id: int, key: str, fingerprint: str, now: datetime, expires_at: datetime
    ) -> int | None:
        """Insert a record for ``(api_key_id, key)``: its id, or ``None`` when one exists."""
        values = {
            "api_key_id": api_key_id,
            "key": key,
            "fingerprint": fingerprint,
            "created_at": now,
            "expires_at": expires_at,
        }
        insert = _insert_unless_present(self._session.get_bind().dialect.name, values)
        return self._session.execute(insert.returning(IdempotencyRecord.id)).scalar_one_or_none()

    def get(self, *, api_key_id: int, key: str) -> IdempotencyRecord | None:
        """The record of ``(api_key_id, key)``, expired or not."""
        query = select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
        return self._session.scalars(query).first()

    def store_response(
        self, record_id: int, *, status_code: int, headers: list[list[str]], body: bytes
    ) -> None:
        """Fill in the response of the record claimed as ``record_id``."""
        statement = (
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(status_code=status_code, headers=headers, body=body)
        )
        self._session.execute(statement)

    def delete_expired_key(self, *, api_key_id: int, key: str, now: datetime) -> None:
        """Delete ``(api_key_id, key)``'s record if it expired at ``now``, freeing the key."""
        statement = delete(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at <= now,
        )
        self._session.execute(statement)

    def purge_expired(self, now: datetime) -> int:
        """Delete every record expired at ``now``; the number deleted."""
        statement = delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now)
        result = cast("CursorResult[Any]", self._session.execute(statement))
        return result.rowcount
