"""dialogs/ is sans-I/O: it must not import network, database or async machinery, in any of
its domain folders (kernel/, intake/, catalog/matching/…)."""

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
DOMAINS = {
    "kernel",
    "geo",
    "intake",
    "followup",
    "privacy",
    "assignment",
    "catalog",
    "coordination",
    "reports",
}


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


def test_every_folder_of_dialogs_is_checked() -> None:
    """The scan above walks every subfolder: each domain folder (and any folder below it
    holding Python) is a package whose modules it reads."""
    folders = {
        path.parent.relative_to(DIALOGS).as_posix()
        for path in DIALOGS.rglob("*.py")
        if path.parent != DIALOGS
    }
    assert {f.split("/")[0] for f in folders} == DOMAINS
    assert "catalog/matching" in folders
    assert all((DIALOGS / folder / "__init__.py").is_file() for folder in folders)
