"""Helpers for the import and export tests: POST a file, read a CSV answer, count versions."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from service.db.engine import Database
from service.main import create_app
from service.settings import Settings
from service.usecases.operations.keys import create_api_key
from tests.api.studies_support import Headers
from tests.support.databases import migrated_database

# The published Metapsy peer-support database, as the package ships it (byte for byte the
# release file: tests/test_starter_evidence.py checks its SHA-256 against ATTRIBUTION.md).
METAPSY_FILE = Path(
    str(resources.files("service.data.metapsy").joinpath("metapsy-peer-support.csv"))
)


def post_import(
    client: TestClient, headers: Headers, text: str, *, fmt: str, dry_run: bool = False
) -> Response:
    """POST ``text`` to /v1/imports as a text/csv body."""
    return client.post(
        "/v1/imports",
        params={"format": fmt, "dry_run": str(dry_run).lower()},
        content=text.encode("utf-8"),
        headers={**headers, "Content-Type": "text/csv"},
    )


def newest_version(client: TestClient) -> int:
    """The newest evidence version (0 before the first write)."""
    items = client.get("/v1/versions", params={"limit": 1}).json()["items"]
    return int(items[0]["number"]) if items else 0


def csv_rows(text: str, *, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The numbers an R script prints, from a pooled answer's ``result``."""
    names = ("estimate", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "tau2", "i2")
    return {name: result[name] for name in names}


@contextmanager
def empty_app(backend: str, directory: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app on a new, empty, migrated database of ``backend`` whose writes really commit
    (not the shared test transaction), and a curator's headers; the database is dropped after."""
    with migrated_database(backend, directory) as url:
        settings = Settings(database_url=url, webhooks_deliver_in_api=False)
        database = Database.from_settings(settings)
        with database.session(write=True) as session:
            key = create_api_key(session, name="curator", scopes=["submit", "curate"]).plaintext
        database.dispose()
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield client, {"Authorization": f"Bearer {key}"}


def without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without what names the database's own ids and versions."""
    kept = {k: v for k, v in answer.items() if k != "evidence_version"}
    kept["studies"] = [
        {k: v for k, v in s.items() if k not in ("study_id", "label")} for s in answer["studies"]
    ]
    if kept.get("result"):
        kept["result"] = dict(answer["result"])
        kept["result"]["effects"] = [
            {k: v for k, v in e.items() if k != "label"} for e in answer["result"]["effects"]
        ]
        for section in ("leave_one_out",):
            if kept["result"].get(section):
                kept["result"][section] = [
                    {k: v for k, v in e.items() if k != "label"} for e in kept["result"][section]
                ]
    return kept
