"""Migrations with data present: a downgrade refuses to drop rows unless told to, on both backends.

Upgrade to head, store evidence and an API key, then try to downgrade to base: it refuses,
names the tables, and leaves every row and the schema revision as they were (the run is one
transaction). With ``allow_data_loss`` it goes through; upgrading again gives a working, empty
evidence store.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.config import main as alembic_main
from sqlalchemy import delete, func, insert, inspect, select

from service.db.downgrade_guard import DataLossRefusedError
from service.db.engine import Database
from service.db.migrate import PROJECT_ROOT, alembic_config, current_revision, head_revision
from service.db.models import ApiKey, Comparator, Event, EvidenceVersion, Study, StudyRevision
from service.schemas.studies import StudyCreate
from service.settings import Settings, get_settings
from service.usecases.conclusions.runner import worker_for
from service.usecases.operations.keys import create_api_key
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study
from tests.api.studies_support import committed_settings
from tests.factories import one_to_one_stigma_trial, peer_group_trial

pytestmark = pytest.mark.db

CURATOR = WriteContext(actor="curator", request_id=None, may_curate=True, trusted=True)
COUNTED = (Study, StudyRevision, EvidenceVersion, ApiKey)


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    with committed_settings(backend, tmp_path) as settings:
        yield settings


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    yield database
    database.dispose()


def _store_evidence(database: Database) -> None:
    with database.session(write=True) as session:
        create_api_key(session, name="bot", scopes=["submit"])
    for body in (peer_group_trial(), one_to_one_stigma_trial()):
        with database.session(write=True) as session:
            create_study(session, StudyCreate.model_validate(body), CURATOR)
    # The conclusions worker writes the versions' events (issue 23).
    assert worker_for(database, Settings(database_url=database.url)).drain() == [1, 2]


def _counts(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in COUNTED
        }


def _revision(database: Database) -> str | None:
    return current_revision(database.read_engine)


def _tables(database: Database) -> set[str]:
    return set(inspect(database.read_engine).get_table_names())


def _allowing_loss(config: Config) -> Config:
    config.attributes["allow_data_loss"] = True
    return config


def test_downgrade_refuses_to_drop_evidence_and_changes_nothing(database: Database) -> None:
    _store_evidence(database)
    before = _counts(database)

    with pytest.raises(DataLossRefusedError) as refused:
        command.downgrade(alembic_config(database.url), "base")

    # The first migration with data to lose refuses: the versions' events (issue 15); the
    # conclusions outbox and stored looks above it are derived and dropped without asking.
    assert "event (" in str(refused.value)
    with database.session(write=True) as session:
        session.execute(delete(Event))
    with pytest.raises(DataLossRefusedError) as refused:
        command.downgrade(alembic_config(database.url), "base")

    message = str(refused.value)
    assert "study (2 rows)" in message
    assert "evidence_version (2 rows)" in message
    assert "allow_data_loss=true" in message
    assert (
        _counts(database)
        == before
        == {
            "study": 2,
            "study_revision": 2,
            "evidence_version": 2,
            "api_key": 1,
        }
    )
    assert _revision(database) == head_revision()


def test_a_refusal_further_down_undoes_the_steps_before_it(database: Database) -> None:
    # The evidence tables are empty and would drop; the API key stops the run at 0002, and
    # the whole run rolls back: the database is still at head with every table.
    with database.session(write=True) as session:
        create_api_key(session, name="bot", scopes=["submit"])
    tables = _tables(database)

    with pytest.raises(DataLossRefusedError, match=r"api_key \(1 rows\)"):
        command.downgrade(alembic_config(database.url), "base")

    assert _revision(database) == head_revision()
    assert _tables(database) == tables
    assert _counts(database)["api_key"] == 1


def test_vocabulary_added_by_hand_is_data_too(database: Database) -> None:
    with database.session(write=True) as session:
        session.execute(
            insert(Comparator).values(
                slug="peer-education", name="Peer education", description="x", position=9
            )
        )
    command.downgrade(alembic_config(database.url), "0001")  # nothing stored above 0001

    with pytest.raises(DataLossRefusedError, match=r"comparator \(1 rows\)"):
        command.downgrade(alembic_config(database.url), "base")
    assert _revision(database) == "0001"


def test_allowed_data_loss_downgrades_and_upgrades_again(database: Database) -> None:
    _store_evidence(database)

    command.downgrade(_allowing_loss(alembic_config(database.url)), "base")
    assert _tables(database) <= {"alembic_version"}
    assert _revision(database) is None

    command.upgrade(alembic_config(database.url), "head")
    assert _counts(database) == {
        "study": 0,
        "study_revision": 0,
        "evidence_version": 0,
        "api_key": 0,
    }
    _store_evidence(database)
    assert _counts(database)["evidence_version"] == 2


def test_upgrade_downgrade_upgrade_without_data_needs_no_flag(database: Database) -> None:
    config = alembic_config(database.url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    assert _revision(database) == head_revision()


def _alembic(monkeypatch: pytest.MonkeyPatch, url: str, *argv: str) -> None:
    """``alembic -c alembic.ini ARGV`` run from the project's folder with ``DATABASE_URL=url``.

    The ``alembic`` console script's own entry point (``alembic.config.main``), called in this
    process: the same argument parsing, ``-x`` options and ``migrations/env.py`` as the
    executable, without two new interpreters' start-up per test (seconds on a busy machine).
    An error propagates as the exception that the executable prints before exiting non-zero.
    """
    monkeypatch.chdir(PROJECT_ROOT)
    monkeypatch.setenv("DATABASE_URL", url)
    # env.py configures logging from alembic.ini as the executable does; fileConfig replaces
    # the root logger's handlers, which are pytest's: it gets a copy of the list to replace.
    monkeypatch.setattr(logging.root, "handlers", list(logging.root.handlers))
    get_settings.cache_clear()
    try:
        alembic_main(["-c", str(PROJECT_ROOT / "alembic.ini"), *argv], prog="alembic")
    finally:
        get_settings.cache_clear()


def test_the_flag_on_the_alembic_command_line(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_evidence(database)

    with pytest.raises(DataLossRefusedError, match="Downgrade refused"):
        _alembic(monkeypatch, database.url, "downgrade", "base")
    assert _counts(database)["study"] == 2

    _alembic(monkeypatch, database.url, "-x", "allow_data_loss=true", "downgrade", "base")
    assert _revision(database) is None


def test_only_an_explicit_true_allows_data_loss(database: Database) -> None:
    _store_evidence(database)
    for value in ("false", "no", "ture", ""):
        config = alembic_config(database.url)
        config.cmd_opts = argparse.Namespace(x=[f"allow_data_loss={value}"])
        with pytest.raises(DataLossRefusedError):
            command.downgrade(config, "base")
    assert _counts(database)["study"] == 2
