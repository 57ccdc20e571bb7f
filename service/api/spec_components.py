"""Named components for the spec's enums, slugs and free-form objects, once each.

Pydantic inlines a ``Literal`` or a constrained ``str`` alias at every use, so the document
repeated the estimator names ten times, and a generated client (openapi-python-client) made a
type per use: 216 models, ``GetPooledEstimator``, ``GetForestSvgEstimator``... and, for a
nullable one, ``...Type0``. This pass hoists them into ``components/schemas`` under the
name of their alias in :mod:`service.schemas` (``EstimatorName``, ``Slug``), found by
importing every schema module: an alias added there later is named without touching this
file. An enum no alias spells is named after its field's title (``SidesEnum``); a free-form
JSON object is ``JsonObject``, and a request's (NUL in no key or string, at any depth: see
:data:`service.schemas.common.NUL_FREE_JSON_OBJECT`) ``NulFreeJsonObject``. A reference
keeps its use's ``description`` and ``default`` beside it (OpenAPI 3.1 allows siblings of
``$ref``).
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, Literal, get_origin

from pydantic import PydanticUserError, TypeAdapter

import service.schemas
from service.schemas.common import NUL_FREE_JSON_OBJECT, NUL_FREE_KEYS

REF_PREFIX = "#/components/schemas/"
JSON_OBJECT = {"type": "object", "additionalProperties": True}
# Keywords of one use of a type, not of the type itself.
_USE_KEYWORDS = frozenset({"title", "description", "default", "examples", "deprecated"})
_KEPT_BESIDE_REF = ("description", "default")
_NUL_FREE_OBJECT = ("NulFreeJsonObject", NUL_FREE_JSON_OBJECT)


def _aliases() -> Iterator[tuple[str, Any]]:
    """Module-level ``Literal`` and ``Annotated`` aliases of :mod:`service.schemas`."""
    for module_info in sorted(pkgutil.iter_modules(service.schemas.__path__)):
        module = importlib.import_module(f"service.schemas.{module_info.name}")
        for name, value in sorted(vars(module).items()):
            if name[:1].isupper() and get_origin(value) in (Literal, Annotated):
                yield name, value


def _type_key(schema: dict[str, Any]) -> str:
    """What identifies a type: its schema without the keywords of one use."""
    return json.dumps({k: v for k, v in schema.items() if k not in _USE_KEYWORDS}, sort_keys=True)


@cache
def named_types() -> dict[str, tuple[str, dict[str, Any]]]:
    """Type key -> (component name, schema) for each enum and patterned string alias; the
    first alias (by module, then name) names a type that two aliases spell alike."""
    named: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, alias in _aliases():
        try:
            schema = TypeAdapter(alias).json_schema()
        except PydanticUserError:  # an alias pydantic cannot describe alone
            continue
        if "enum" in schema or ("pattern" in schema and schema.get("type") == "string"):
            clean = {k: v for k, v in schema.items() if k not in _USE_KEYWORDS}
            named.setdefault(_type_key(clean), (name, clean))
    named.setdefault(_type_key(JSON_OBJECT), ("JsonObject", dict(JSON_OBJECT)))
    named.setdefault(_type_key(NUL_FREE_KEYS), _NUL_FREE_OBJECT)
    return named


def _camel(title: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in title.replace("_", " ").split())


class _Hoister:
    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self.fallback: dict[str, str] = {}

    def name_of(self, schema: dict[str, Any], title: str | None) -> str | None:
        key = _type_key(schema)
        if key in named_types():
            name, clean = named_types()[key]
        elif "enum" in schema and schema.get("type") in ("string", "integer"):
            clean = {k: v for k, v in schema.items() if k not in _USE_KEYWORDS}
            name = self.fallback.get(key) or self._fresh(f"{_camel(title or 'Value')}Enum")
            self.fallback[key] = name
        else:
            return None
        self.components.setdefault(name, copy.deepcopy(clean))
        return name

    def _fresh(self, name: str) -> str:
        taken, number = name, 2
        while taken in self.components:
            taken, number = f"{name}{number}", number + 1
        return taken

    def visit(self, node: Any, title: str | None = None) -> Any:
        if isinstance(node, list):
            return [self.visit(item, title) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" not in node:
            name = self.name_of(node, node.get("title", title))
            if name is not None:
                kept = {k: node[k] for k in _KEPT_BESIDE_REF if k in node}
                return {"$ref": REF_PREFIX + name, **kept}
        inner_title = node.get("title", title)
        return {
            key: self.visit(value, _child_title(key, inner_title)) for key, value in node.items()
        }


def _child_title(key: str, title: str | None) -> str | None:
    return title if key in ("items", "anyOf", "oneOf", "schema") else key


def name_components(document: dict[str, Any]) -> dict[str, Any]:
    """Hoist ``document``'s inline enums, slugs and JSON objects into named components, in
    place (a second pass finds nothing to do); returns ``document``."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    hoister = _Hoister(schemas)
    document["paths"] = hoister.visit(document.get("paths", {}))
    for name in list(schemas):
        schema = schemas[name]
        if isinstance(schema, dict) and "properties" in schema:
            schema["properties"] = {
                prop: hoister.visit(value, prop) for prop, value in schema["properties"].items()
            }
            for key in ("additionalProperties", "items"):
                if isinstance(schema.get(key), dict):
                    schema[key] = hoister.visit(schema[key], name)
    return document
