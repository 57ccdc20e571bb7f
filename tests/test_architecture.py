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


def _service_imports(folder: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(SERVICE)): {
            m for m in _imported_modules(path) if m.startswith("service")
        }
        for path in sorted((SERVICE / folder).rglob("*.py"))
    }


def test_plots_are_pure_rendering() -> None:
    """service/plots knows nothing of HTTP, pages, storage or use cases, and never uses pyplot
    (its global figure manager is shared by every thread of the process)."""
    forbidden = ("service.api", "service.web", "service.db", "service.usecases", "service.schemas")
    files = sorted((SERVICE / "plots").rglob("*.py"))
    assert files, "service/plots has no modules"
    offenders = {}
    for path in files:
        modules = _imported_modules(path)
        bad = [
            m
            for m in modules
            if m.startswith(forbidden) or m.split(".")[0] in ("fastapi", "sqlalchemy")
        ]
        bad += [m for m in modules if m == "matplotlib.pyplot" or m == "pylab"]
        if bad:
            offenders[str(path.relative_to(SERVICE))] = bad
    assert offenders == {}


def test_pages_never_reach_the_database_but_through_use_cases() -> None:
    """service/web calls use cases; only the repositories' query filter type may be named."""
    offenders = {
        name: sorted(
            m
            for m in modules
            if m.startswith("service.db") and m != "service.db.repositories.studies"
        )
        for name, modules in _service_imports("web").items()
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
    for path in sorted((SERVICE / "web").rglob("*.py")):
        assert not any(
            m.startswith("sqlalchemy") and m != "sqlalchemy.orm" for m in _imported_modules(path)
        )
