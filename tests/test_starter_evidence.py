"""Issue 28: ``make run`` on an empty database answers from the bundled Metapsy trials.

The start-up path is run from the outside, as ``make run`` runs it: the Makefile's ``run`` recipe
is read and its ``lma`` commands are executed as processes on an empty SQLite file; then a
server reads the file and answers ``GET /v1/outcomes/empowerment/pooled``.

Each ``lma`` command is a process that imports the service (about a second): the first start on
an empty file is run once for the module, and each test that reads it works on its own copy.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from contextlib import closing
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _run_recipe_lma_commands() -> list[list[str]]:
    """The ``lma`` lines of the Makefile's ``run`` recipe (uvicorn left out)."""
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe is not None
    lines = [line.strip() for line in recipe.group(1).splitlines()]
    commands = [shlex.split(line.replace("$(BIN)/", "")) for line in lines if "lma " in line]
    assert commands, "make run runs no lma command"
    return commands


def _start(tmp_path: Path, **env: str) -> str:
    url = f"sqlite:///{tmp_path / 'lma.sqlite3'}"
    environment = {**os.environ, "DATABASE_URL": url, **env}
    lma = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]
    for command in _run_recipe_lma_commands():
        assert command[0] == "lma"
        done = subprocess.run(
            [*lma, *command[1:]], env=environment, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    return url


def _copy(started: Path, directory: Path) -> str:
    """A copy of the started database file in ``directory`` (SQLite's online backup)."""
    target = directory / "lma.sqlite3"
    with closing(sqlite3.connect(started)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


# Both tests start from the first start's file: one xdist worker runs them, so it is made once.
pytestmark = pytest.mark.xdist_group("starter_evidence")


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file after the ``run`` recipe's first start on an empty database (left unchanged)."""
    directory = tmp_path_factory.mktemp("started")
    _start(directory)
    return directory / "lma.sqlite3"


def _client(url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, webhooks_deliver_in_api=False)))


@pytest.mark.slow
def test_make_run_on_an_empty_database_pools_the_bundled_trials(
    started: Path, tmp_path: Path
) -> None:
    url = _copy(started, tmp_path)
    with _client(url) as client:
        answer = client.get("/v1/outcomes/empowerment/pooled").json()
        assert answer["status"] == "pooled"
        assert answer["k"] == 4
        studies = client.get("/v1/studies", params={"limit": 50}).json()
    items = studies["items"]
    assert len(items) == 6
    assert {study["status"] for study in items} == {"included"}
    for study in items:
        assert "doi:10.5281/zenodo.7687898" in study["source"]["document"]
        assert "ODC-By 1.0" in study["source"]["document"]
        assert study["source"]["location"].startswith("rows ")


@pytest.mark.slow
def test_a_second_start_imports_nothing_and_the_setting_starts_empty(
    started: Path, tmp_path: Path
) -> None:
    url = _copy(started, tmp_path)
    assert _start(tmp_path) == url  # the same file again: studies exist, nothing is added
    with _client(url) as client:
        assert len(client.get("/v1/studies", params={"limit": 50}).json()["items"]) == 6
    empty = tmp_path / "empty"
    empty.mkdir()
    url = _start(empty, STARTER_EVIDENCE="false")
    with _client(url) as client:
        assert client.get("/v1/studies").json()["items"] == []
        assert client.get("/v1/outcomes/empowerment/pooled").json()["status"] != "pooled"


def test_the_bundled_file_is_the_published_one_unchanged_with_its_attribution() -> None:
    """ATTRIBUTION.md records the SHA-256 of the published release file (taken from the shared
    copy when it was bundled): a changed byte in the shipped file breaks it."""
    package = resources.files("service.data.metapsy")
    shipped = package.joinpath("metapsy-peer-support.csv").read_bytes()
    attribution = package.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "10.5281/zenodo.7687898" in attribution
    assert "ODC-By" in attribution
    assert hashlib.sha256(shipped).hexdigest() in attribution
