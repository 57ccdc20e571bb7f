"""``lma import-data {csv,metapsy} FILE``: the import use case from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cli import main
from service.db.migrate import upgrade_to_head
from service.settings import get_settings
from tests.api.test_exchange_import import BROKEN, CSV, METAPSY
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.support.databases import clone


@pytest.fixture(autouse=True)
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite database that ``lma`` finds through DATABASE_URL."""
    url = clone("sqlite", tmp_path)  # a copy of the run's migrated template
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _lma(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_csv_import_prints_a_summary_and_a_second_run_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "trials.csv", CSV)

    code, dry = _lma(capsys, "import-data", "csv", path, "--dry-run")
    assert code == 0
    assert "would store 2 new studies (3 results)" in dry
    code, first = _lma(capsys, "import-data", "csv", path)
    assert code == 0
    assert "stored 2 new studies (3 results); 0 already present" in first
    assert "evidence version 1" in first
    code, again = _lma(capsys, "import-data", "csv", path)
    assert code == 0
    assert "stored 0 new studies (0 results); 2 already present" in again
    assert "evidence version" not in again


def test_a_dry_run_prints_its_report_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "trials.csv", CSV)
    code, out = _lma(capsys, "import-data", "csv", path, "--dry-run", "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["dry_run"], report["new_studies"], report["new_results"]) == (True, 2, 3)
    assert report["problems"] == []


def test_problems_are_listed_with_their_rows_and_the_exit_status_is_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "broken.csv", BROKEN)

    code, out = _lma(capsys, "import-data", "csv", path)

    assert code == 1
    assert "row 2, sd1i" in out
    assert "row 4, n1i" in out
    code, out = _lma(capsys, "import-data", "csv", path, "--dry-run")
    assert code == 1
    assert "problems" in out


def test_a_map_file_names_an_unknown_metapsy_instrument_and_a_terminal_gets_a_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path, "metapsy.csv", METAPSY)
    mapping = _file(tmp_path, "map.json", json.dumps({"Some Unknown Scale": "empowerment-scale"}))
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: behave as on a terminal

    code, out = _lma(capsys, "import-data", "metapsy", path, "--map", mapping)

    assert code == 0, out
    assert "checking studies" in out
    assert "3/3" in out
    assert "stored 3 new studies (3 results)" in out
    assert "skipped 1 row(s): outcome not in the review: Depression" in out


def test_a_backup_keeps_the_source_ids_so_a_restored_database_still_knows_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path, "metapsy.csv", "\n".join(METAPSY.splitlines()[:4]) + "\n")
    assert _lma(capsys, "import-data", "metapsy", path)[0] == 0
    backup = str(tmp_path / "backup.json")
    assert _lma(capsys, "export", backup)[0] == 0
    assert len(json.loads(Path(backup).read_text("utf-8"))["source_keys"]) == 2
    restored = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    upgrade_to_head(restored)
    monkeypatch.setenv("DATABASE_URL", restored)
    get_settings.cache_clear()
    assert _lma(capsys, "import", backup)[0] == 0

    code, out = _lma(capsys, "import-data", "metapsy", path)

    assert code == 0
    assert "stored 0 new studies (0 results); 2 already present" in out


@pytest.fixture
def backend_url(backend: str, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``lma``'s database on the backend under test (the SQLite one, or a new PostgreSQL one)."""
    if backend == "sqlite":
        yield database_url
        return
    url = create_postgres_database()
    try:
        upgrade_to_head(url)
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        yield url
    finally:
        get_settings.cache_clear()
        drop_postgres_database(url)


@pytest.mark.db
@pytest.mark.usefixtures("backend_url")
def test_batches_stop_at_a_bad_row_and_resume_from_prints_where_to_continue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _file(tmp_path, "bad.csv", BATCHED.replace(f"{BATCH_BAD_SD},40", "0,40"))
    good = _file(tmp_path, "good.csv", BATCHED)

    code, out = _lma(capsys, "import-data", "csv", bad, "--batch-size", "2")

    assert code == 1
    assert "row 6, sd1i" in out
    assert "(4 studies; evidence version(s) 1, 2)" in out
    assert "continue with --resume-from 6" in out  # batch 3 (studies 5 and 6) begins on row 6
    code, out = _lma(capsys, "import-data", "csv", good, "--batch-size", "2", "--resume-from", "6")
    assert code == 0, out
    assert "stored 2 new studies (2 results)" in out
    assert "evidence version 3" in out
    code, out = _lma(capsys, "import-data", "csv", good, "--batch-size", "2")
    assert code == 0
    assert "stored 0 new studies (0 results); 6 already present" in out
    with pytest.raises(SystemExit):
        _lma(capsys, "import-data", "csv", good, "--batch-size", "0")
    assert "must be a positive whole number, not 0" in capsys.readouterr().err


BATCH_BAD_SD = "0.51"
BATCHED = "\n".join(
    [
        "study,year,category,quality,outcome,instrument,weeks,m1i,sd1i,n1i,m2i,sd2i,n2i",
        *(
            f'"Lee{i}, {2010 + i}",{2010 + i},peer-group,strong,empowerment,empowerment-scale,'
            f"12,{2.8 + i / 50},{BATCH_BAD_SD if i == 5 else '0.5'},40,2.7,0.5,42"
            for i in range(1, 7)
        ),
    ]
)
