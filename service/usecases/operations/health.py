"""Readiness: can this process serve requests from its database?"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from service.db.engine import Database
from service.errors import ServiceUnavailableError


@dataclass(frozen=True, slots=True)
class Readiness:
    backend: str
    revision: str | None


def check_readiness(database: Database) -> Readiness:
    """Raise 503 unless the database answers and sits at the newest migration."""
    # Imported here, not at the top: Alembic (with Mako and Pygments) takes about 0.3 s to
    # import and only this probe needs it, so a process loads it on its first /ready, not at
    # start-up (issue 24); `lma` defers it the same way.
    from service.db.migrate import current_revision, head_revision

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
