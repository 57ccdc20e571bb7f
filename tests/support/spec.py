"""The committed OpenAPI document (tests/test_openapi.py holds it equal to the app's) and its
operations, for tests that check one operation at a time so that pytest-xdist can share them,
and for tests of the document itself: reading it costs milliseconds, building it from an app
(``service.openapi.openapi_document``) 1-2 s of CPU each time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options"})


def spec_document() -> dict[str, Any]:
    """The committed document, parsed anew (callers may change their copy)."""
    document: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    return document


def spec_operations() -> list[str]:
    """Every operation as schemathesis labels it: ``"GET /v1/studies/{study_id}"``."""
    paths = spec_document()["paths"]
    return sorted(
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method in item
        if method in METHODS
    )
