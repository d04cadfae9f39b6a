"""Units of work on SQLite (storage/sqlite_units.py): on a WAL file their
statements run on the event loop's thread through a sync Session; a write lock
held by another process is waited for on a worker thread while the loop goes
on; a file that cannot be in WAL keeps the async session on aiosqlite's thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from storage.db import Database
from storage.migrate import upgrade
from storage.models.core import ProcessedUpdate
from storage.repos.inbox import DuplicateUpdate
from tests import databases

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def with_thread_id(db: Database) -> Database:
    """Every new connection of `db` gets `thread_id()`: which thread SQLite runs a
    statement on."""

    def register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)

    for engine in db.sync_engines:
        event.listen(engine, "connect", register)
    return db


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    # About SQLite itself: a SQLite file whatever the session's engine.
    database = with_thread_id(Database(databases.sqlite_url(tmp_path, "bot.sqlite3")))
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


async def count_claims(db: Database) -> int:
    async with db.unit() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate)))


async def test_a_unit_of_work_runs_on_the_loop_thread(db: Database) -> None:
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


async def test_savepoints_roll_back_only_their_part(db: Database) -> None:
    """Both ways the code takes a savepoint: awaited (the admin router) and as a
    block (a duplicate flag); the rest of the unit is committed."""
    async with db.unit() as uow:
        await uow.inbox.claim("telegram", "kept", NOW)
        savepoint = await uow.session.begin_nested()
        await uow.inbox.claim("telegram", "dropped", NOW)
        await savepoint.rollback()
        with pytest.raises(DuplicateUpdate):
            async with uow.session.begin_nested():
                await uow.inbox.claim("telegram", "kept", NOW)
        await uow.inbox.claim("telegram", "after", NOW)
    async with db.unit() as uow:
        keys = set(await uow.session.scalars(select(ProcessedUpdate.update_key)))
    assert keys == {"kept", "after"}


async def claim_and_tell_thread(db: Database, key: str) -> int:
    async with db.unit() as uow:
        await uow.inbox.claim("telegram", key, NOW)
        return int(await uow.session.scalar(text("SELECT thread_id()")))


async def test_a_lock_held_elsewhere_is_waited_for_off_the_loop(
    db: Database, tmp_path: Path
) -> None:
    """Another process (a backup, a CLI command) holds the write lock: the unit
    waits for it on a worker thread, and the event loop keeps running."""
    holder = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(claim_and_tell_thread(db, "1"))
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


async def test_a_unit_cancelled_while_waiting_leaves_nothing_behind(
    db: Database, tmp_path: Path
) -> None:
    holder = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(claim_and_tell_thread(db, "cancelled"))
        for _ in range(20):
            await asyncio.sleep(0)
        waiting.cancel()
        # The worker thread still holds the connection until it gets the lock.
        await asyncio.sleep(0.05)
        assert not waiting.done()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # Nothing committed, the lock given back, the next unit served at once.
    assert await count_claims(db) == 0
    assert await claim_and_tell_thread(db, "next") == threading.get_ident()
    assert await count_claims(db) == 1


# SQLAlchemy announces it will pick another pool for in-memory URLs: not our subject.
@pytest.mark.filterwarnings("ignore:Selection of the .* pool class")
async def test_without_wal_units_stay_on_aiosqlite_s_thread(tmp_path: Path) -> None:
    """A database that cannot be in WAL (here in memory, shared by name): a COMMIT
    might wait for readers, so nothing runs on the loop."""
    url = f"sqlite+aiosqlite:///file:units-{tmp_path.name}?mode=memory&cache=shared&uri=true"
    db = with_thread_id(Database(url))
    try:
        await upgrade(db)
        first = await claim_and_tell_thread(db, "1")
        assert first != threading.get_ident()
        assert await count_claims(db) == 1
    finally:
        await db.dispose()
