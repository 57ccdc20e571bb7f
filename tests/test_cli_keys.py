"""``lma keys`` and ``lma idempotency purge`` against a migrated SQLite database."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.api.auth import SubmitPrincipalDep
from service.cli import main
from service.cli.keys import SCOPES
from service.db.base import utc_now
from service.db.engine import Database
from service.db.models import ApiKey, IdempotencyRecord
from service.main import create_app
from service.settings import Settings, get_settings
from service.usecases.operations.keys import Scope
from tests.support.databases import clone

HOUR = timedelta(hours=1)


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite database that ``lma`` finds through DATABASE_URL."""
    url = clone("sqlite", tmp_path)  # a copy of the run's migrated template
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _lma(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _create(capsys: pytest.CaptureFixture[str], name: str, scopes: str) -> str:
    code, out, _ = _lma(capsys, "keys", "create", "--name", name, "--scopes", scopes)
    assert code == 0
    [key] = [line for line in out.splitlines() if line.startswith("lma_")]
    return key


def _whoami(url: str, key: str) -> Any:
    app = create_app(Settings(database_url=url))

    @app.post("/probe/whoami")
    def whoami(principal: SubmitPrincipalDep) -> dict[str, Any]:
        return {"name": principal.name, "trusted": principal.trusted}

    with TestClient(app, raise_server_exceptions=False) as client:
        return client.post("/probe/whoami", headers={"Authorization": f"Bearer {key}"})


def _stored_keys(url: str) -> list[ApiKey]:
    database = Database.from_settings(Settings(database_url=url))
    try:
        with database.session() as session:
            return list(session.scalars(select(ApiKey)))
    finally:
        database.dispose()


def test_create_prints_a_key_once_and_it_authenticates(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _lma(
        capsys, "keys", "create", "--name", "bot", "--scopes", "submit,curate", "--trusted"
    )
    assert code == 0
    assert "will not be shown again" in out
    [key] = [line for line in out.splitlines() if line.startswith("lma_")]
    assert out.count(key) == 1
    response = _whoami(database_url, key)
    assert response.status_code == 200
    assert response.json() == {"name": "bot", "trusted": True}
    [stored] = _stored_keys(database_url)
    assert stored.scopes == ["submit", "curate"]
    assert stored.key_hash == hashlib.sha256(key.split("_", 2)[2].encode()).hexdigest()


def test_create_quiet_prints_the_key_alone(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _lma(
        capsys, "keys", "create", "--name", "script", "--scopes", "submit", "--quiet"
    )
    assert (code, err) == (0, "")
    key = out.removesuffix("\n")
    assert out == key + "\n"  # KEY=$(lma keys create ... --quiet) captures exactly the key
    assert key.startswith("lma_")
    assert _whoami(database_url, key).status_code == 200


def test_list_shows_keys_but_never_secrets_or_hashes(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [_create(capsys, "bot", "submit"), _create(capsys, "curator", "curate,read")]
    code, out, _ = _lma(capsys, "keys", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KEY", "ID", "SCOPES", "TRUSTED", "CREATED", "REVOKED"]
    assert lines[1].split()[:4] == ["bot", keys[0].split("_")[1], "submit", "no"]
    assert lines[2].split()[:3] == ["curator", keys[1].split("_")[1], "read,curate"]
    for key, stored in zip(keys, _stored_keys(database_url), strict=True):
        assert key.split("_", 2)[2] not in out
        assert stored.key_hash not in out


def test_revoke_makes_the_key_401(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    key = _create(capsys, "bot", "submit")
    assert _whoami(database_url, key).status_code == 200
    code, out, _ = _lma(capsys, "keys", "revoke", "bot")
    assert code == 0
    assert "revoked" in out
    response = _whoami(database_url, key)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    _, listing, _ = _lma(capsys, "keys", "list")
    assert listing.splitlines()[1].split()[-1] != "-"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["keys", "create", "--name", "bot", "--scopes", "submit"], "already exists"),
        (["keys", "create", "--name", "other", "--scopes", "submit,root"], "root"),
        (["keys", "create", "--name", "other", "--scopes", ","], "No scope"),
        (["keys", "create", "--name", "x" * 101, "--scopes", "read"], "name"),
        (["keys", "revoke", "nobody"], "nobody"),
    ],
)
def test_mistakes_exit_1_with_one_line(
    database_url: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    _create(capsys, "bot", "submit")
    code, out, err = _lma(capsys, *argv)
    assert code == 1
    assert out == ""
    assert err.startswith("lma: ")
    assert message in err
    assert len(_stored_keys(database_url)) == 1


def test_purge_deletes_expired_idempotency_records(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(capsys, "bot", "submit")
    [api_key] = _stored_keys(database_url)
    now = utc_now()
    database = Database.from_settings(Settings(database_url=database_url))
    try:
        with database.session(write=True) as session:
            for key, expires_at in (("old", now - HOUR), ("new", now + HOUR)):
                session.add(
                    IdempotencyRecord(
                        api_key_id=api_key.id,
                        key=key,
                        fingerprint="0" * 64,
                        status_code=201,
                        headers=[],
                        body=b"{}",
                        created_at=now - timedelta(days=3),
                        expires_at=expires_at,
                    )
                )
        code, out, _ = _lma(capsys, "idempotency", "purge")
        assert (code, out.strip()) == (0, "deleted 1 expired idempotency record(s)")
        with database.session() as session:
            assert list(session.scalars(select(IdempotencyRecord.key))) == ["new"]
    finally:
        database.dispose()


def test_the_cli_starts_without_importing_the_service() -> None:
    """``lma --help`` builds its parser from the standard library alone (issue 26: ~5 s)."""
    heavy = ("sqlalchemy", "numpy", "scipy", "rich", "fastapi", "pydantic", "matplotlib")
    code = (
        "import sys, service.cli; service.cli.build_parser(); "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_version_and_the_scopes_in_the_help_are_the_services(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"lma {metadata.version('living-meta-analysis')}"
    assert tuple(Scope) == SCOPES


@pytest.mark.usefixtures("database_url")
def test_reads_print_json(capsys: pytest.CaptureFixture[str]) -> None:
    _create(capsys, "json-reader", "read")
    code, out, _ = _lma(capsys, "keys", "list", "--json")
    assert code == 0
    [key] = [k for k in json.loads(out) if k["name"] == "json-reader"]
    assert (key["scopes"], key["trusted"], key["revoked_at"]) == (["read"], False, None)
    code, out, _ = _lma(capsys, "db", "status", "--json")
    assert code == 0
    status = json.loads(out)
    assert status["up_to_date"] is True
    assert status["current"] == status["head"]
