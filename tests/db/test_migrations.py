"""Migrations: reversible on both backends, and in step with the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.db.base import Base
from service.db.engine import create_db_engine
from service.db.migrate import alembic_config, head_revision
from service.settings import Settings
from tests.conftest import create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.db


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, thrown away after the test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url, Settings(database_url=url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    assert {"outcome", "instrument", "alembic_version"} <= _tables(empty_database_url)
    command.downgrade(config, "base")
    assert _tables(empty_database_url) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert "instrument" in _tables(empty_database_url)


def test_models_and_migrations_do_not_differ(database_url: str) -> None:
    engine = create_db_engine(database_url, Settings(database_url=database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            revision = context.get_current_revision()
    finally:
        engine.dispose()
    assert differences == []
    assert revision == head_revision()
