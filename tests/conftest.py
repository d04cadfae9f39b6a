"""Shared fixtures: a migrated database on SQLite and on a private PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import upgrade

pytest_plugins = ["tests.fakes.postgres"]


def database_url(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database(f"t_{uuid.uuid4().hex[:12]}"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database, once per supported engine."""
    db = Database(database_url(request, request.param, tmp_path))
    await upgrade(db)
    try:
        yield db
    finally:
        await db.dispose()
