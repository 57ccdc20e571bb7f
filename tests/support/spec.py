"""The operations of the committed OpenAPI document (tests/test_openapi.py holds it equal to
the app's), for tests that check one operation at a time so that pytest-xdist can share them."""

from __future__ import annotations

import json
from pathlib import Path

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options"})


def spec_operations() -> list[str]:
    """Every operation as schemathesis labels it: ``"GET /v1/studies/{study_id}"``."""
    paths = json.loads(SPEC.read_text(encoding="utf-8"))["paths"]
    return sorted(
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method in item
        if method in METHODS
    )
