"""README.md runs: every JSON block parses and every shell block with curl works, on both databases.

How: the blocks run top to bottom in bash (``set -euo pipefail``) from the repository root,
against one fresh migrated database, with ``.venv/bin/lma`` for real and ``curl`` replaced by
tests/support/curl_shim.py, which hands each request to the app running in this process
(FastAPI's TestClient, behind a Unix socket). Variables a block assigns (``KEY=$(...)``) are
kept for the blocks after it. Each curl must answer 2xx or 3xx unless its trailing comment
starts with the status it shows (``curl -s localhost:8000/v1/nothing   # 404 as ...``).

A ``json`` block must parse; one that is a reported form (it has ``"form"``) or an outcome
result must also validate against the API's schema. Blocks without curl (``make run``, a
backup on the command line) are not run. A block that
cannot run here (starting a server, Docker) is marked on the line before its fence with
``<!-- readme-test: skip (the reason) -->``; see the README's "Developing" section.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from service.main import create_app
from service.schemas.reported import ReportedData
from service.schemas.studies import OutcomeResultCreate
from service.settings import Settings
from tests.conftest import migrated_database
from tests.support.readme_blocks import Block, blocks, curl_commands

pytestmark = pytest.mark.db

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
SHIM = ROOT / "tests/support/curl_shim.py"
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)


class _Exchanges:
    """The requests the shim forwarded while one block ran, with their statuses."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.statuses: list[tuple[str, int]] = []

    def forward(self, request: dict[str, Any]) -> dict[str, Any]:
        body = request["body"]
        response = self.client.request(
            request["method"],
            request["path"],
            content=body.encode() if body is not None else None,
            headers=[(name, value) for name, value in request["headers"]],
        )
        self.statuses.append((f"{request['method']} {request['path']}", response.status_code))
        return {
            "status": response.status_code,
            "headers": list(response.headers.items()),
            "body": response.text,
        }


@pytest.fixture
def readme_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own: ``lma`` writes to it from another process, so no rollback."""
    with migrated_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def exchanges(readme_database: str) -> Iterator[tuple[_Exchanges, str]]:
    """The app on ``readme_database`` behind a Unix socket; yields the recorder and the socket."""
    directory = tempfile.mkdtemp(prefix="readme-")  # short: socket paths are at most 107 bytes
    socket_path = os.path.join(directory, "curl.sock")
    with TestClient(create_app(Settings(database_url=readme_database))) as client:
        recorder = _Exchanges(client)

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                answer = recorder.forward(json.loads(self.rfile.readline()))
                self.wfile.write(json.dumps(answer).encode() + b"\n")

        with socketserver.UnixStreamServer(socket_path, Handler) as server:
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield recorder, socket_path
            finally:
                server.shutdown()
                thread.join()
    shutil.rmtree(directory, ignore_errors=True)


def _shim_directory(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"
    curl.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SHIM}" "$@"\n')
    curl.chmod(0o755)
    return bin_dir


def _script(block: Block, state: Path) -> str:
    names = sorted(set(_ASSIGNMENT.findall(block.text)))
    keep = "".join(f"declare -p {name} >> {state}\n" for name in names)
    return f"set -euo pipefail\nsource {state}\n{block.text}\n{keep}"


def _work_directory(tmp_path: Path) -> Path:
    """Where the blocks run: files they write (``> studies.csv``) land here, not in the checkout;
    ``.venv`` links to the repository's, so ``.venv/bin/lma`` works as in the README."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    (work / "service").symlink_to(ROOT / "service")  # the bundled data the examples import
    return work


def _run(block: Block, env: dict[str, str], state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", _script(block, state)],
        cwd=env["README_WORK_DIRECTORY"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _check_block(block: Block, result: subprocess.CompletedProcess[str], seen: list[Any]) -> None:
    where = f"README.md line {block.line}"
    assert result.returncode == 0, f"{where} failed:\n{result.stderr}\n{result.stdout}"
    expected = curl_commands(block.text)
    assert len(seen) == len(expected), f"{where}: {len(expected)} curl commands, {seen} requests"
    for command, (request, status) in zip(expected, seen, strict=True):
        if command.expected_status is not None:
            assert status == command.expected_status, f"{where}: {request} -> {status}"
        else:
            assert 200 <= status < 400, f"{where}: {request} answered {status}:\n{result.stdout}"


_RESULT: TypeAdapter[OutcomeResultCreate] = TypeAdapter(OutcomeResultCreate)
_DATA: TypeAdapter[ReportedData] = TypeAdapter(ReportedData)


def _check_json(block: Block) -> None:
    """Valid JSON; a reported form (``"form"``) or an outcome result must match the schema."""
    document = json.loads(block.text)
    if isinstance(document, dict) and "form" in document:
        _DATA.validate_python(document)
    elif isinstance(document, dict) and {"outcome", "instrument", "data"} <= set(document):
        _RESULT.validate_python(document)


@pytest.mark.slow  # a server per backend and every README block: 20-30 s each
def test_every_readme_example_runs(
    exchanges: tuple[_Exchanges, str], readme_database: str, tmp_path: Path
) -> None:
    recorder, socket_path = exchanges
    env = {
        **os.environ,
        "PATH": f"{_shim_directory(tmp_path)}:{os.environ['PATH']}",
        "README_CURL_SOCKET": socket_path,
        "DATABASE_URL": readme_database,
        "README_WORK_DIRECTORY": str(_work_directory(tmp_path)),
    }
    state = tmp_path / "state.sh"
    state.write_text("")
    ran = 0
    for block in blocks(README):
        if block.skip_reason is not None:
            continue
        if block.language == "json":
            _check_json(block)
        elif block.runs_curl:
            recorder.statuses.clear()
            _check_block(block, _run(block, env, state), list(recorder.statuses))
            ran += 1
    assert ran >= 4  # the tour, submitting trials, analyses and pooled results at least


def test_the_readme_needs_nothing_debian_lacks_and_marks_skips_with_a_reason() -> None:
    text = README.read_text(encoding="utf-8")
    assert "uuidgen" not in text
    for block in blocks(README):
        if block.skip_reason is not None:
            assert len(block.skip_reason) >= 5, f"README.md line {block.line}: say why"


def test_the_shim_refuses_options_it_does_not_know(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SHIM), "--compressed", "localhost:8000/health"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "README_CURL_SOCKET": str(tmp_path / "none")},
    )
    assert result.returncode != 0
    assert "--compressed" in result.stderr
