"""The committed OpenAPI document is what the app generates."""

from __future__ import annotations

from pathlib import Path

from service.openapi import openapi_document, render

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_is_current() -> None:
    assert COMMITTED.read_text() == render(), "openapi/openapi.json is stale: run `make openapi`"


def test_operation_ids_are_the_handler_names() -> None:
    operations = [op for path in openapi_document()["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert "list_outcomes" in ids
    assert "health" in ids
