"""``lma import-data metapsy --bundled`` and ``lma db seed``: the bundled starter evidence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cli import main
from service.db.migrate import upgrade_to_head
from service.settings import get_settings


@pytest.fixture(autouse=True)
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    upgrade_to_head(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_the_bundled_file_imports_on_request_and_only_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["import-data", "metapsy", "--bundled", "--dry-run"]) == 0
    assert "would store 6 new studies (6 results)" in capsys.readouterr().out
    assert main(["import-data", "metapsy", "--bundled"]) == 0
    assert "stored 6 new studies" in capsys.readouterr().out
    assert main(["db", "seed"]) == 0  # studies exist: the seed adds nothing
    assert "holds studies already" in capsys.readouterr().out
    assert main(["import-data", "metapsy", "--bundled"]) == 0
    assert "stored 0 new studies (0 results); 6 already present" in capsys.readouterr().out


def test_a_file_and_bundled_are_one_or_the_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-data", "metapsy"]) == 2
    assert main(["import-data", "csv", "--bundled"]) == 2
    path = tmp_path / "x.csv"
    path.write_text("study;year\n", encoding="utf-8")
    assert main(["import-data", "metapsy", str(path), "--bundled"]) == 2
    assert "not both" in capsys.readouterr().out
