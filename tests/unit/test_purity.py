"""dialogs/ is sans-I/O: it must not import network, database or async machinery."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {
    "asyncio",
    "telegram",
    "nio",
    "sqlalchemy",
    "aiohttp",
    "httpx",
    "socket",
    "storage",
    "bot",
}
DIALOGS = Path(__file__).resolve().parents[2] / "dialogs"


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_dialogs_import_no_io() -> None:
    offenders = {
        str(path.relative_to(DIALOGS)): sorted(imported_roots(path) & FORBIDDEN)
        for path in DIALOGS.rglob("*.py")
        if imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}
