"""Readiness: can this process serve requests from its database?"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from service.db.engine import Database
from service.db.migrate import current_revision, head_revision
from service.errors import ServiceUnavailableError


@dataclass(frozen=True, slots=True)
class Readiness:
    backend: str
    revision: str | None


def check_readiness(database: Database) -> Readiness:
    """Raise 503 unless the database answers and sits at the newest migration."""
    try:
        revision = current_revision(database.read_engine)
    except SQLAlchemyError as exc:
        raise ServiceUnavailableError("The database is not reachable.") from exc
    head = head_revision()
    if revision != head:
        raise ServiceUnavailableError(
            f"The database is at revision {revision or 'none'}, not {head}: run the migrations."
        )
    return Readiness(backend=database.read_engine.dialect.name, revision=revision)
