"""Webhook signing secrets are encrypted at rest, with a configured or a generated key."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from service.db.engine import Database
from service.db.migrate import alembic_config
from service.db.models import ApiKey, Webhook
from service.main import create_app
from service.settings import Settings, get_settings
from service.usecases.events.secret_box import SecretKeyError, secret_box
from service.usecases.events.webhooks import new_secret
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.delivery.support import committed_world, subscribe

pytestmark = pytest.mark.db


def test_a_key_file_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "var" / "webhook-secret.key"
    settings = Settings(webhook_secret_key_file=path)
    sealed = secret_box(settings).seal("whsec_abc")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text()
    assert secret_box(Settings(webhook_secret_key_file=path)).open(sealed) == "whsec_abc"
    assert path.read_text() == key
    assert [p.name for p in path.parent.iterdir()] == ["webhook-secret.key"]


def test_a_configured_key_wins_and_rotates(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    file = tmp_path / "unused.key"
    sealed_by_old = secret_box(Settings(webhook_secret_key=old, webhook_secret_key_file=file)).seal(
        "whsec_abc"
    )
    rotated = secret_box(Settings(webhook_secret_key=f"{new}, {old}", webhook_secret_key_file=file))
    assert rotated.open(sealed_by_old) == "whsec_abc"  # the old key still decrypts
    assert Fernet(new.encode()).decrypt(rotated.seal("whsec_x").encode()) == b"whsec_x"
    assert not file.exists()
    with pytest.raises(SecretKeyError, match="WEBHOOK_SECRET_KEY"):
        secret_box(Settings(webhook_secret_key=new, webhook_secret_key_file=file)).open(
            sealed_by_old
        )


def test_a_key_that_is_not_a_fernet_key_is_refused_without_echoing_it() -> None:
    good = Fernet.generate_key().decode()
    with pytest.raises(ValueError, match="32 url-safe base64") as refused:
        Settings(webhook_secret_key=f"{good},not-a-key")
    assert good not in str(refused.value)


def test_stored_secrets_are_encrypted_current_and_previous(backend: str, tmp_path: Path) -> None:
    with committed_world(backend, tmp_path) as world:
        created = subscribe(world, "http://127.0.0.1:9/hook")
        rotated = world.client.post(
            f"/v1/webhooks/{created['id']}/rotate-secret", headers=world.admin
        ).json()
        with world.database.session() as session:
            row = session.get(Webhook, created["id"])
            assert row is not None
            stored = (row.secret, row.previous_secret)
        assert created["secret"] not in stored
        assert rotated["secret"] not in stored
        box = secret_box(world.settings)
        assert [box.open(s) for s in stored if s] == [rotated["secret"], created["secret"]]


@pytest.fixture
def database_at_0015(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
        command.upgrade(alembic_config(url), "0015")
        yield url
        return
    url = create_postgres_database()
    try:
        command.upgrade(alembic_config(url), "0015")
        yield url
    finally:
        drop_postgres_database(url)


def test_the_migration_encrypts_existing_secrets_and_its_downgrade_decrypts(
    database_at_0015: str,
) -> None:
    url, now = database_at_0015, datetime.now(UTC)
    current, previous = new_secret(), new_secret()
    database = Database.from_settings(Settings(database_url=url))
    try:
        with database.session(write=True) as session:
            key = {"name": "k", "public_id": "p", "key_hash": "h", "scopes": [], "trusted": False}
            session.execute(insert(ApiKey), [{"id": 1, "created_at": now, **key}])
            hook = {"url": "https://example.org/h", "event_types": [], "enabled": True}
            times = {"created_at": now, "updated_at": now, "last_event_id": 0}
            secrets = {"secret": current, "previous_secret": previous}
            session.execute(
                insert(Webhook), [{"id": 1, "owner_key_id": 1, **hook, **times, **secrets}]
            )

        def stored() -> tuple[str, str | None]:
            with database.session() as session:
                row = session.execute(select(Webhook.secret, Webhook.previous_secret)).one()
                return row.secret, row.previous_secret

        box = secret_box(get_settings())  # the application's key (its file made at start-up)
        command.upgrade(alembic_config(url), "0019")
        sealed = stored()
        assert current not in sealed
        assert previous not in sealed
        assert (box.open(sealed[0]), box.open(str(sealed[1]))) == (current, previous)
        command.downgrade(alembic_config(url), "0015")
        assert stored() == (current, previous)
    finally:
        database.dispose()


def test_without_a_key_the_migration_leaves_secrets_plain_and_start_up_seals_them(
    database_at_0015: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frozen migration 0019 never generates the key file; the application does."""
    key_file = tmp_path / "var" / "webhook-secret.key"
    monkeypatch.setenv("WEBHOOK_SECRET_KEY_FILE", str(key_file))
    monkeypatch.delenv("WEBHOOK_SECRET_KEY", raising=False)
    url, now = database_at_0015, datetime.now(UTC)
    current = new_secret()
    database = Database.from_settings(Settings(database_url=url))
    try:
        with database.session(write=True) as session:
            key = {"name": "k", "public_id": "p", "key_hash": "h", "scopes": [], "trusted": False}
            session.execute(insert(ApiKey), [{"id": 1, "created_at": now, **key}])
            hook = {"url": "https://example.org/h", "event_types": [], "enabled": True}
            times = {"created_at": now, "updated_at": now, "last_event_id": 0}
            session.execute(
                insert(Webhook),
                [{"id": 1, "owner_key_id": 1, **hook, **times, "secret": current}],
            )
        command.upgrade(alembic_config(url), "head")
        assert not key_file.exists()
        with database.session() as session:
            assert session.execute(select(Webhook.secret)).scalar_one() == current
        settings = Settings(database_url=url, webhook_secret_key_file=key_file)
        with TestClient(create_app(settings)):
            pass  # start-up
        assert key_file.exists()
        with database.session() as session:
            sealed = session.execute(select(Webhook.secret)).scalar_one()
        assert sealed != current
        assert secret_box(settings).open(sealed) == current
    finally:
        database.dispose()
