"""No two modules of dialogs/ import each other, even through a chain or only for
type checking (coordination's access and grammar once did: the grammar needed
the roles, the roles the grammar's Spec). Each module of dialogs/coordination
also imports alone, in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIALOGS = ROOT / "dialogs"


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, known: set[str]) -> set[str]:
    """Every module of `known` this file imports, anywhere in it (TYPE_CHECKING
    blocks and functions included): `from a.b import c` counts `a.b.c` when
    that is a module, else `a.b`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                if child in known:
                    found.add(child)
                elif node.module in known:
                    found.add(node.module)
    return found


def graph() -> dict[str, set[str]]:
    paths = {module_of(p): p for p in DIALOGS.rglob("*.py")}
    known = set(paths)
    return {name: imports(path, known) - {name} for name, path in paths.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
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
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_scan_sees_the_grammar_edges() -> None:
    edges = graph()
    assert "dialogs.kernel.commands" in edges["dialogs.coordination.commands"]
    assert "dialogs.kernel.commands" in edges["dialogs.coordination.access"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_dialogs() -> None:
    assert cycles(graph()) == []


def test_coordination_access_no_longer_needs_the_grammar() -> None:
    edges = graph()
    assert "dialogs.coordination.commands" not in edges["dialogs.coordination.access"]


COORDINATION = sorted(module_of(p) for p in (DIALOGS / "coordination").glob("*.py"))


@pytest.mark.parametrize("module", COORDINATION)
def test_each_coordination_module_imports_alone(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
