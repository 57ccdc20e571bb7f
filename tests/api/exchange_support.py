"""Helpers for the import and export tests: POST a file, read a CSV answer, count versions."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.api.studies_support import Headers

# The shared Metapsy data lives beside the repository (../shared/data); SHARED_DATA_DIR points
# elsewhere (a worktree one level deeper, say).
SHARED_DATA = Path(
    os.environ.get("SHARED_DATA_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data"
)
METAPSY_FILE = SHARED_DATA / "metapsy-peer-support.csv"


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
