"""Layering rules that code review alone would let slip."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import ClassVar

import grimp
from importlinter.cli import lint_imports

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


def test_no_import_circles_anywhere_in_service() -> None:
    """No module imports itself back through any chain, type-only imports included."""
    graph = grimp.build_graph(
        "service", include_external_packages=False, exclude_type_checking_imports=False
    )
    circles = [sorted(component) for component in _strongly_connected(graph) if len(component) > 1]
    assert circles == []


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (the import graph is deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_a_circle_is_found() -> None:
    """The check above can fail: a two-module circle is one component of two."""

    class Two:
        modules: ClassVar[set[str]] = {"a", "b", "c"}

        @staticmethod
        def find_modules_directly_imported_by(module: str) -> set[str]:
            return {"a": {"b"}, "b": {"a"}, "c": {"a"}}[module]

    components = _strongly_connected(Two())  # type: ignore[arg-type]
    assert sorted(sorted(c) for c in components if len(c) > 1) == [["a", "b"]]


def test_import_linter_contracts_are_kept() -> None:
    """The layers of pyproject.toml's [tool.importlinter] (also run by `make lint`)."""
    assert lint_imports(config_filename=str(SERVICE.parent / "pyproject.toml")) == 0
