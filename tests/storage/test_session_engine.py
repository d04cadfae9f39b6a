"""The database engine of a test session (tests/databases.py): helpers get one database per
key for the whole test, PostgreSQL databases are dropped after it, and a PostgreSQL pass
without server binaries skips with its reason locally but fails when PostgreSQL is required."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database
from tests import databases
from tests.fakes import postgres as pg
from tests.inner_pytest import run_pytest


async def test_same_key_same_database_other_key_another(tmp_path: Path) -> None:
    first = databases.url(tmp_path)
    assert databases.url(tmp_path) == first
    other = databases.url(tmp_path, "other.sqlite3")
    assert other != first
    assert first.startswith("sqlite" if databases.session_engine() == "sqlite" else "postgresql")
    # A row written through one Database is seen through another on the same URL, as a bot
    # restarted on its data directory would see it.
    writer, reader = Database(first), Database(databases.url(tmp_path))
    try:
        async with writer.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE note (body varchar(20))"))
            await conn.execute(text("INSERT INTO note VALUES ('gardée')"))
        async with reader.engine.connect() as conn:
            assert (await conn.execute(text("SELECT body FROM note"))).scalar_one() == "gardée"
    finally:
        await writer.dispose()
        await reader.dispose()


async def test_postgresql_databases_are_dropped_after_the_test(
    postgres_server: pg.PostgresServer, tmp_path: Path
) -> None:
    databases.attach(postgres_server)
    url = databases.url(tmp_path, engine=databases.POSTGRESQL)
    name = url.rsplit("/", 1)[1]
    db = Database(url)  # left connected on purpose: dropping must not wait for it
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        databases.drop_created()
        admin = Database(postgres_server.url)
        try:
            async with admin.engine.connect() as conn:
                found = await conn.execute(
                    text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
                )
                assert found.scalar_one() == 0
        finally:
            await admin.dispose()
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    ("required", "expected"), [(False, "2 skipped"), (True, "2 errors")], ids=["local", "ci"]
)
def test_postgresql_pass_without_binaries(tmp_path: Path, required: bool, expected: str) -> None:
    """`pytest --db=postgresql` on a machine without PostgreSQL: every test, even one that
    never touches a database, skips with the reason, or errors when PostgreSQL is required."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import tests.fakes.postgres as pg
            pg.find_pg_bin = lambda: None
            pytest_plugins = ["tests.conftest"]
            """
        )
    )
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            def test_pure():
                assert 1 + 1 == 2

            async def test_with_database(database):
                raise AssertionError("must not run")
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", pg.ENV_REQUIRE)}
    env.pop(databases.ENV_ENGINE, None)
    if required:
        env[pg.ENV_REQUIRE] = "1"
    proc = run_pytest(tmp_path, env, "-o", "asyncio_mode=auto", "--db=postgresql")
    output = proc.stdout + proc.stderr
    assert expected in output, output
    assert "PostgreSQL server binaries not found" in output, output
    assert "must not run" not in output, output
    if required:
        assert proc.returncode != 0 and "refusing to skip" in output, output
    else:
        assert proc.returncode == 0, output
