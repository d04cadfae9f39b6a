"""Tests for the private PostgreSQL fixture (tests/fakes/postgres.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tests.fakes import postgres as pg
from tests.fakes.postgres import PostgresServer, find_pg_bin
from tests.inner_pytest import run_pytest

postgres_server = pg.postgres_server  # make the session fixture visible in this module


@asynccontextmanager
async def engine_for(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


def test_find_pg_bin_returns_real_server_directory(postgres_server: PostgresServer) -> None:
    bin_dir = find_pg_bin()
    assert bin_dir is not None
    assert bin_dir == postgres_server.bin_dir
    for name in ("initdb", "pg_ctl", "postgres"):
        assert os.access(bin_dir / name, os.X_OK)
        assert not (bin_dir / name).is_symlink()


def test_server_layout_and_privileges(postgres_server: PostgresServer) -> None:
    server = postgres_server
    assert server.running
    assert server.url == f"postgresql+asyncpg://postgres@127.0.0.1:{server.port}/postgres"
    assert (server.data_dir / "PG_VERSION").is_file()
    assert server.data_dir.is_relative_to(server.base_dir)
    if server.socket_dir is not None:
        assert server.socket_dir.is_relative_to(server.base_dir)
        assert (server.socket_dir / f".s.PGSQL.{server.port}").exists()
    if os.geteuid() == 0:
        assert server.run_as is not None
        assert server.run_as.uid != 0
        assert server.data_dir.stat().st_uid == server.run_as.uid
    else:
        assert server.run_as is None
    # startup durations were measured
    assert server.initdb_seconds > 0
    assert server.start_seconds > 0


async def test_settings_applied(postgres_server: PostgresServer) -> None:
    async with engine_for(postgres_server.url) as engine, engine.connect() as conn:
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            value = (await conn.execute(text(f"SHOW {name}"))).scalar_one()
            assert value == "off", name
        assert (await conn.execute(text("SHOW listen_addresses"))).scalar_one() == "127.0.0.1"
        assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "postgres"
        version = (await conn.execute(text("SHOW server_version_num"))).scalar_one()
        assert int(version) >= 120000


async def test_two_databases_are_isolated(postgres_server: PostgresServer) -> None:
    url_a = postgres_server.create_database("fixture_db_a")
    url_b = postgres_server.create_database("fixture_db_b")
    assert url_a.endswith("/fixture_db_a")
    assert url_b.endswith("/fixture_db_b")
    assert url_a.startswith("postgresql+asyncpg://")

    async with engine_for(url_a) as engine_a, engine_for(url_b) as engine_b:
        async with engine_a.begin() as conn:
            await conn.execute(text("CREATE TABLE item (id serial PRIMARY KEY, name text)"))
            await conn.execute(
                text("INSERT INTO item (name) VALUES (:n)"),
                [{"n": "alpha"}, {"n": "beta"}, {"n": "gamma"}],
            )
        async with engine_a.connect() as conn:
            rows = (await conn.execute(text("SELECT id, name FROM item ORDER BY id"))).all()
            assert [tuple(r) for r in rows] == [(1, "alpha"), (2, "beta"), (3, "gamma")]
            assert (await conn.execute(text("SELECT current_database()"))).scalar_one() == (
                "fixture_db_a"
            )
        async with engine_b.connect() as conn:
            assert (await conn.execute(text("SELECT current_database()"))).scalar_one() == (
                "fixture_db_b"
            )
            exists = await conn.execute(text("SELECT to_regclass('public.item')"))
            assert exists.scalar_one() is None

    with pytest.raises(RuntimeError, match="already exists"):
        postgres_server.create_database("fixture_db_a")


async def test_create_database_without_psql_uses_asyncpg(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fallback path: no psql anywhere -> asyncpg in a private loop (works inside a loop)."""
    monkeypatch.setattr(postgres_server, "bin_dir", Path("/nonexistent"))
    monkeypatch.setattr(pg.shutil, "which", lambda _name: None)
    url = postgres_server.create_database("fixture_via_asyncpg")
    async with engine_for(url) as engine, engine.connect() as conn:
        name = (await conn.execute(text("SELECT current_database()"))).scalar_one()
        assert name == "fixture_via_asyncpg"


def test_create_database_quotes_names(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database('Weird "Name"')
    assert url.endswith('/Weird "Name"')
    with pytest.raises(ValueError):
        postgres_server.create_database("")


async def test_skip_locked_claims_distinct_rows(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("fixture_skip_locked")
    claim = text(
        "SELECT id FROM job WHERE done = false ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
    )
    async with engine_for(url) as engine:
        async with engine.begin() as conn:
            await conn.execute(
                text("CREATE TABLE job (id int PRIMARY KEY, done bool NOT NULL DEFAULT false)")
            )
            await conn.execute(text("INSERT INTO job (id) SELECT g FROM generate_series(1, 20) g"))

        # 1. Deterministic: A holds its locks while B claims.
        a_claimed = asyncio.Event()
        b_done = asyncio.Event()

        async def worker_a() -> list[int]:
            async with engine.begin() as conn:
                ids = list((await conn.execute(claim, {"n": 3})).scalars())
                a_claimed.set()
                await b_done.wait()  # keep the transaction (and row locks) open
                return ids

        async def worker_b() -> list[int]:
            await a_claimed.wait()
            try:
                async with engine.begin() as conn:
                    return list((await conn.execute(claim, {"n": 3})).scalars())
            finally:
                b_done.set()

        ids_a, ids_b = await asyncio.wait_for(asyncio.gather(worker_a(), worker_b()), 30)
        assert ids_a == [1, 2, 3]
        assert ids_b == [4, 5, 6]

        # 2. Truly concurrent workers drain the queue: every job claimed exactly once.
        async def drain(worker: int) -> list[int]:
            claimed: list[int] = []
            while True:
                async with engine.begin() as conn:
                    ids = list((await conn.execute(claim, {"n": 1})).scalars())
                    if not ids:
                        row = await conn.execute(text("SELECT count(*) FROM job WHERE NOT done"))
                        if row.scalar_one() == 0:
                            return claimed
                        continue  # remaining rows locked by others; retry
                    await conn.execute(text("SELECT pg_sleep(0.005)"))
                    await conn.execute(
                        text("UPDATE job SET done = true WHERE id = :id"), {"id": ids[0]}
                    )
                    claimed.extend(ids)

        results = await asyncio.wait_for(asyncio.gather(drain(1), drain(2)), 60)
        all_ids = results[0] + results[1]
        assert sorted(all_ids) == list(range(1, 21))
        assert len(set(all_ids)) == 20
        assert not set(results[0]) & set(results[1])


async def test_stop_then_start_keeps_data(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("fixture_restart")
    port = postgres_server.port
    async with engine_for(url) as engine:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE note (body text)"))
            await conn.execute(text("INSERT INTO note VALUES ('survives restart')"))

        postgres_server.stop()
        assert not postgres_server.running
        with pytest.raises((OSError, DBAPIError, InterfaceError, OperationalError)):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        postgres_server.start()
        assert postgres_server.running
        assert postgres_server.port == port
        async with engine.connect() as conn:
            body = (await conn.execute(text("SELECT body FROM note"))).scalar_one()
            assert body == "survives restart"


def require_binaries() -> None:
    """Skipped only on a developer machine without PostgreSQL, never in CI."""
    if find_pg_bin() is None:
        if pg._in_ci():
            pytest.fail(
                f"PostgreSQL server binaries not found (CI or {pg.ENV_REQUIRE} is set)",
                pytrace=False,
            )
        pytest.skip("PostgreSQL server binaries not found")


def test_start_postgres_standalone() -> None:
    """start_postgres() on its own directory; cleanup() stops and removes it."""
    require_binaries()
    base = Path(tempfile.mkdtemp(prefix="aiguillage-pg-standalone-"))
    server = pg.start_postgres(base)
    try:
        assert server.running
        assert server.port != 0
        url = server.create_database("standalone")
        assert f":{server.port}/standalone" in url
    finally:
        server.cleanup()
    assert not server.running
    assert not base.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only relevant when running as root")
def test_start_postgres_rejects_unreachable_dir_as_root() -> None:
    require_binaries()
    private = Path(tempfile.mkdtemp(prefix="aiguillage-pg-private-"))  # mode 0700, root
    try:
        with pytest.raises(RuntimeError, match="cannot reach"):
            pg.start_postgres(private / "cluster")
    finally:
        shutil.rmtree(private)


@pytest.mark.parametrize(
    ("variable", "expected"),
    [(None, "1 skipped"), ("CI", "1 error"), (pg.ENV_REQUIRE, "1 error")],
)
def test_fixture_skips_locally_but_fails_in_ci(
    tmp_path: Path, variable: str | None, expected: str
) -> None:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import tests.fakes.postgres as pg
            pg.find_pg_bin = lambda: None
            """
        )
    )
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            from tests.fakes import postgres as pg
            postgres_server = pg.postgres_server

            def test_needs_pg(postgres_server):
                raise AssertionError("must not run")
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", pg.ENV_REQUIRE)}
    if variable is not None:
        env[variable] = "true"
    proc = run_pytest(tmp_path, env, "-p", "no:randomly")
    output = proc.stdout + proc.stderr
    assert expected in output, output
    assert "PostgreSQL server binaries not found" in output, output
    if variable is None:
        assert proc.returncode == 0, output
    else:
        assert proc.returncode != 0, output
        assert "refusing to skip" in output, output
