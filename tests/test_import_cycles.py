"""No import cycle among the modules of bot/, dialogs/ and storage/.

The graph is read from the sources (ast), not from `sys.modules`: every import
counts, including those inside a function or under `TYPE_CHECKING`, because a
cycle hidden that way is still two modules that cannot be understood apart.
A submodule's import is an edge to that submodule only, not to its parent
packages: `storage/models/__init__.py` importing every table module, which
each import `storage.models.base`, is how the metadata learns every table,
not a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "dialogs", "storage")

Graph = dict[str, set[str]]


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue  # Alembic's scripts, loaded by file path
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports (the nearest known module of each name)."""

    def nearest(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str | None] = []
        if isinstance(node, ast.Import):
            targets = [nearest(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from package import module` names a module; `from module import name` does not.
            targets = [
                nearest(f"{base}.{alias.name}")
                if f"{base}.{alias.name}" in known
                else nearest(base)
                for alias in node.names
            ]
        found.update(t for t in targets if t is not None and t != name)
    return found


def graph() -> Graph:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_scan_sees_imports_of_every_kind() -> None:
    edges = graph()
    # A module-level import, a relative-free `from package import module`, and
    # an import inside a function (bot/app.py reads the CLI's error texts lazily).
    assert "storage.models.base" in edges["storage.models.core"]
    assert "storage.models.core" in edges["storage.models"]
    assert "bot.cli.errors" in edges["bot.app"]
    # The roles live in the kernel's grammar, which the coordination's access
    # and vocabulary both import (access and grammar once imported each other).
    assert "dialogs.kernel.commands" in edges["dialogs.coordination.access"]
    assert "dialogs.coordination.commands" not in edges["dialogs.coordination.access"]


def test_cycles_are_found() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


COORDINATION = sorted(
    f"dialogs.coordination.{p.stem}" for p in (ROOT / "dialogs" / "coordination").glob("[!_]*.py")
)


@pytest.mark.parametrize("module", COORDINATION)
def test_each_coordination_module_imports_alone(module: str) -> None:
    """In a fresh interpreter: an order-dependent import would fail here."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
