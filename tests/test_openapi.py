"""The committed OpenAPI document is what the app generates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.api.documentation import NUL_FREE_PATTERN
from service.openapi import openapi_document, render
from service.schemas import vocabulary

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The app's document, built once for the module (each build is a new app: ~2 s)."""
    return openapi_document()


def test_committed_openapi_is_current(document: dict[str, Any]) -> None:
    stale = "openapi/openapi.json is stale: run `make openapi`"
    assert COMMITTED.read_text() == render(document), stale


def test_operation_ids_are_the_handler_names(document: dict[str, Any]) -> None:
    operations = [op for path in document["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert "list_outcomes" in ids
    assert "health" in ids


def _who(operation: dict[str, object]) -> str:
    scopes = operation.get("x-required-scopes")
    if operation.get("security") and isinstance(scopes, list):
        return ", ".join(f"`{scope}`" for scope in scopes)
    if operation.get("x-api-key") == "optional":
        return "anyone (a key is optional)"
    return "anyone"


def test_the_readme_scope_table_is_the_spec(document: dict[str, Any]) -> None:
    """README "Scopes, operation by operation" lists each operation under what the spec asks."""
    readme = (COMMITTED.parents[1] / "README.md").read_text()
    section = readme.split("### Scopes, operation by operation", 1)[1].split("\n### ", 1)[0]
    listed = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith(("| who", "| ---")):
            who, operations = (cell.strip() for cell in line.strip("|").split(" | ", 1))
            for operation in operations.split(", `"):
                listed[operation.strip("`")] = who
    spec = {
        f"{method.upper()} {path}": _who(operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert listed == spec


def _strings(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if schema.get("type") == "string":
        yield schema
    for branch in (*schema.get("anyOf", ()), *schema.get("oneOf", ())):
        yield from _strings(branch)
    if isinstance(schema.get("items"), dict):
        yield from _strings(schema["items"])


def test_every_url_string_says_nul_is_refused(document: dict[str, Any]) -> None:
    """Issue 25: a URL with NUL is a 400, so no path or query string may promise to take it."""
    unbounded = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", ())
        if parameter["in"] in ("path", "query")
        for schema in _strings(parameter["schema"])
        if not {"pattern", "enum", "const", "format"} & schema.keys()
    ]
    assert unbounded == []
    assert re.fullmatch(NUL_FREE_PATTERN, "peer support") is not None
    assert re.fullmatch(NUL_FREE_PATTERN, "peer\x00support") is None


def test_each_vocabulary_kind_is_one_named_component(document: dict[str, Any]) -> None:
    """Issue 25: each kind of term is one ``$ref`` component, used wherever the kind is; its
    values are not inlined anywhere else (tests/db/test_vocabulary_constants.py holds them
    equal to the migrated database's)."""
    schemas = document["components"]["schemas"]
    elsewhere = str(document["paths"]) + str(
        {name: schema for name, schema in schemas.items() if not name.endswith("Slug")}
    )
    for name, stated in (
        ("OutcomeSlug", vocabulary.OUTCOMES),
        ("CategorySlug", vocabulary.CATEGORIES),
        ("ComparatorSlug", vocabulary.COMPARATORS),
        ("DesignSlug", vocabulary.DESIGNS),
        ("QualityRatingSlug", vocabulary.QUALITY_RATINGS),
    ):
        assert tuple(schemas[name]["enum"]) == stated
        assert f"#/components/schemas/{name}" in elsewhere, name
        assert str(list(stated)) not in elsewhere, name
