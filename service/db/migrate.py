"""Programmatic access to the Alembic migrations: upgrade, and the current and head revisions."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """The project's Alembic configuration, optionally pinned to a URL or an open connection."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["configure_logging"] = False
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# Any constant works; it only has to be the same in every replica.
MIGRATION_LOCK_KEY = 0x4C4D41  # "LMA"


def upgrade_to_head(url: str) -> None:
    """Bring the database at ``url`` to the newest schema.

    On PostgreSQL the upgrade holds an advisory lock, so replicas that start together migrate
    one after the other (the second finds nothing left to do) instead of racing.
    """
    if not url.startswith("postgresql"):
        command.upgrade(alembic_config(url), "head")
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                command.upgrade(alembic_config(connection=connection), "head")
                connection.commit()
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
    finally:
        engine.dispose()


@cache
def head_revision() -> str | None:
    """The newest revision in ``migrations/`` (read once per process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
