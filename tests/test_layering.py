"""The import structure of app/: no cycles, and no layer imports one above it.

Layers, bottom-up (the README's architecture section shows the same list):

0. foundation: settings, errors, the profile, private file writes, logging, secret storage
1. db: engines, column types, migrations runner
2. domain: tasks, chat (store, agent, tools, ChatKit server), search, sync core, export
3. http: the error mapper, request dependencies, the security middleware and limits
4. routes: REST routes, the chat endpoint, the web UI mount
5. app factory: app.main
6. entry: the CLI, the server runner, start-up (boot) and the desktop window

Every import counts, at module top or inside a function (and under TYPE_CHECKING): an import
hidden in a function is still a dependency. A module no rule names is domain, so a new
package is held to the domain's rules until it is placed.
"""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

LAYERS = ("foundation", "db", "domain", "http", "routes", "factory", "entry")

# First match wins.
RULES: tuple[tuple[str, str], ...] = (
    ("app.main", "factory"),
    ("app.cli", "entry"),
    ("app.__main__", "entry"),
    ("app.boot", "entry"),
    ("app.server", "entry"),
    ("app.desktop", "entry"),
    ("app.desktop.*", "entry"),
    ("app.*.cli", "entry"),
    ("app.*.routes", "routes"),
    ("app.chat.endpoint", "routes"),
    ("app.webui", "routes"),
    ("app.api.errors", "http"),
    ("app.api.deps", "http"),
    ("app.api.*", "routes"),
    ("app.api", "routes"),
    ("app.security.sessions", "http"),
    ("app.security.middleware", "http"),
    ("app.security.limits", "http"),
    ("app.security.install", "http"),
    ("app", "foundation"),
    ("app.config", "foundation"),
    ("app.errors", "foundation"),
    ("app.profile", "foundation"),
    ("app.fileio", "foundation"),
    ("app.logging_setup", "foundation"),
    ("app.collector", "foundation"),
    ("app.security", "foundation"),
    ("app.security.*", "foundation"),  # keystore, keyrings, redact: secret storage
    ("app.db", "db"),
    ("app.db.*", "db"),
    ("app.*", "domain"),
)


def layer_of(module: str) -> str:
    for pattern, layer in RULES:
        if fnmatch.fnmatchcase(module, pattern):
            return layer
    raise AssertionError(module)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(APP.rglob("*.py"))}


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The app modules `module` imports (`from a import b` counts as a.b when that is one)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # `import app.a.b` loads app.a.b; name the deepest app module it reaches.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = app_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    rank = {name: i for i, name in enumerate(LAYERS)}
    return sorted(
        f"{src} ({layer_of(src)}) imports {dst} ({layer_of(dst)})"
        for src, targets in graph.items()
        for dst in targets
        # `app` itself is the package every module sits in; its __init__ holds the version.
        if dst != "app" and rank[layer_of(dst)] > rank[layer_of(src)]
    )


def test_no_import_cycles_in_app() -> None:
    assert find_cycles(import_graph()) == []


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    assert upward_imports(import_graph()) == []


def test_the_graph_sees_imports_inside_functions() -> None:
    # app/cli.py imports the desktop window only inside a function.
    graph = import_graph()
    assert "app.desktop.window" in graph["app.cli"]
    assert "app.api.deps" in graph["app.tasks.routes"]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_find_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert find_cycles(graph) == expected


def test_upward_imports_are_reported() -> None:
    graph = {"app.db.engine": {"app.tasks.service"}, "app.tasks.service": {"app.db.engine"}}
    assert upward_imports(graph) == [
        "app.db.engine (db) imports app.tasks.service (domain)",
    ]
    assert find_cycles(graph) == [["app.db.engine", "app.tasks.service"]]
