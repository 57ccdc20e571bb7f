"""Layering rules that code review alone would let slip."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1] / "service"
ALLOWED_THIRD_PARTY = {"numpy", "scipy"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_stats_imports_only_numpy_scipy_stdlib_and_itself() -> None:
    files = sorted((SERVICE / "stats").rglob("*.py"))
    assert files, "service/stats has no modules"
    offenders = {}
    for path in files:
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
                continue
            if module == "service.stats" or module.startswith("service.stats."):
                continue
            offenders.setdefault(str(path.relative_to(SERVICE)), []).append(module)
    assert offenders == {}


def test_routers_and_schemas_do_not_import_sqlalchemy_beyond_the_session_type() -> None:
    """Routers and schemas never run SQL: at most they name ``sqlalchemy.orm.Session``."""
    offenders = []
    for folder in ("api", "schemas"):
        for path in sorted((SERVICE / folder).rglob("*.py")):
            modules = _imported_modules(path)
            if any(
                m == "sqlalchemy" or (m.startswith("sqlalchemy.") and m != "sqlalchemy.orm")
                for m in modules
            ):
                offenders.append(str(path.relative_to(SERVICE)))
    assert offenders == []
