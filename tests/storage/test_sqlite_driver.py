"""The SQLite driver (storage/sqlite_driver.py): statements of a write
transaction run on the event loop's thread; what may wait (a write lock held by
another process) waits on aiosqlite's thread, and the loop goes on meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from storage.db import Database
from storage.migrate import upgrade
from storage.models import ProcessedUpdate
from storage.repos.inbox import DuplicateUpdate
from storage.sqlite_driver import LoopConnection, connection_creator
from tests import databases

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    # About SQLite itself: a SQLite file whatever the session's engine.
    database = Database(databases.sqlite_url(tmp_path, "bot.sqlite3"))
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


async def driver_of(db: Database) -> LoopConnection:
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, LoopConnection)
        # Tells which thread SQLite runs a statement on.
        await driver.create_function("thread_id", 0, threading.get_ident)
        return driver


async def count_claims(db: Database) -> int:
    async with db.unit() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate)))


async def test_a_unit_of_work_runs_on_the_loop_thread(db: Database) -> None:
    await driver_of(db)
    async with db.unit() as uow:
        await uow.inbox.claim("telegram", "1", NOW)
        ran_on = await uow.session.scalar(text("SELECT thread_id()"))
    assert ran_on == threading.get_ident()
    assert await count_claims(db) == 1


async def test_errors_and_rollbacks_are_sqlite_s_own(db: Database) -> None:
    async with db.unit() as uow:
        await uow.inbox.claim("telegram", "1", NOW)
    with pytest.raises(DuplicateUpdate):
        async with db.unit() as uow:
            await uow.inbox.claim("telegram", "2", NOW)
            await uow.inbox.claim("telegram", "1", NOW)  # the primary key refuses it
    with pytest.raises(RuntimeError):
        async with db.unit() as uow:
            await uow.inbox.claim("telegram", "3", NOW)
            raise RuntimeError("abandoned")
    # Neither "2" nor "3" was committed; the connection is usable again.
    assert await count_claims(db) == 1
    async with db.unit() as uow:
        await uow.inbox.claim("telegram", "2", NOW)
    assert await count_claims(db) == 2


async def test_a_lock_held_elsewhere_is_waited_for_off_the_loop(
    db: Database, tmp_path: Path
) -> None:
    """Another process (a backup, a CLI command) holds the write lock: the unit
    waits for it on the driver's thread, and the event loop keeps running."""
    await driver_of(db)
    holder = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")

        async def claim() -> int:
            async with db.unit() as uow:
                await uow.inbox.claim("telegram", "1", NOW)
                return int(await uow.session.scalar(text("SELECT thread_id()")))

        waiting = asyncio.create_task(claim())
        turns = 0
        for _ in range(50):  # the loop keeps turning while the unit waits
            await asyncio.sleep(0)
            turns += 1
        assert turns == 50 and not waiting.done()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Once the lock is had, the statements run on the loop's thread again.
    assert await waiting == threading.get_ident()
    assert await count_claims(db) == 1


async def test_without_wal_everything_stays_on_the_thread(tmp_path: Path) -> None:
    """With a rollback journal a COMMIT may wait for readers: nothing runs on
    the loop then."""
    url = databases.sqlite_url(tmp_path, "journal.sqlite3")
    connection = await connection_creator(url, timeout=5)()
    try:
        await connection.create_function("thread_id", 0, threading.get_ident)
        cursor = connection.cursor()
        await cursor.execute("PRAGMA journal_mode=DELETE")
        assert await cursor.fetchone() == ("delete",)
        connection.isolation_level = None  # statements say when transactions start
        assert not connection.begin_immediate_now()
        await cursor.execute("BEGIN IMMEDIATE")
        await cursor.execute("SELECT thread_id()")
        (ran_on,) = await cursor.fetchone()
        assert ran_on != threading.get_ident()
        await connection.commit()
        assert not connection.in_transaction
    finally:
        await connection.close()
