"""The layers of the code, checked from its import statements (read, not run).

The arrows point one way: HTTP (pages, API), admin, commands and tasks → services →
models and the pure rule module. No two modules of the three apps import each other,
directly or around a longer cycle — a function-level import counts too, since that is
how a cycle usually hides — and no service imports an HTTP layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("council", "members", "proposals")
# Modules that speak HTTP: what services must never import.
HTTP = ("rest_framework", "django.http", "django.shortcuts", "django.views", "django_htmx")
# The project's own HTTP layers: the API, the pages, and what every request passes through.
HTTP_PACKAGES = ("council.api", "council.web", "council.http")


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {i for i in _imports(name, path) if i in modules and i != name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_modules_import_each_other_in_a_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_checker_sees_a_cycle_when_there_is_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_services_import_nothing_from_the_http_layers() -> None:
    modules = _modules()
    services = [name for name in modules if name.rpartition(".")[2] == "services"]
    assert len(services) == 3
    web_modules = {
        name
        for name in modules
        if name.rpartition(".")[2] in {"api", "views", "urls", "admin"}
        or name.startswith(HTTP_PACKAGES)
    }
    assert {"council.api.common", "council.web.pages", "council.http.security"} <= web_modules
    for name in services:
        imported = _imports(name, modules[name])
        assert not {i for i in imported if i.startswith(HTTP)}, name
        assert not imported & web_modules, name


def test_the_rule_module_imports_nothing_from_django() -> None:
    imported = _imports("proposals.rules", ROOT / "proposals" / "rules.py")
    assert not {i for i in imported if i.split(".")[0] in ("django", *APPS)}
