"""Print the application's OpenAPI document.

``python -m service.openapi > openapi/openapi.json`` (or ``make openapi``) refreshes the copy."""

from __future__ import annotations

import json
from typing import Any

from service.main import create_app
from service.settings import Settings


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, independent of the environment's settings."""
    document: dict[str, Any] = create_app(Settings()).openapi()
    return document


def render(document: dict[str, Any] | None = None) -> str:
    """The document as committed (``document``: one already built)."""
    built = openapi_document() if document is None else document
    return json.dumps(built, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
