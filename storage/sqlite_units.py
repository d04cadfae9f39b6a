"""Units of work on SQLite through a synchronous Session, behind the awaitable
surface of `AsyncSession` that repositories use.

Every incoming update is a write transaction, and SQLite runs in-process: an
indexed statement costs a few microseconds. SQLAlchemy's async layer wraps each
call in a greenlet switch and an execution round of its own, ~100 µs per
statement, so that layer, not SQLite, was most of an update's cost. With the
database in WAL mode, once `BEGIN IMMEDIATE` holds the write lock nothing in the
transaction can wait (readers never block the writer, `synchronous=NORMAL`
appends to the journal without flushing it), so the statements may as well run
directly on the event loop:

- `BEGIN IMMEDIATE` is tried on the loop with a zero busy timeout; if another
  process (a CLI command, a backup) holds the lock, the wait for it happens on a
  worker thread with the configured timeout, while the loop serves the rest;
- the statements, the COMMIT or ROLLBACK then run on the loop, on a plain
  `Connection` (and a `Session` joined to it when a repository asks for the ORM);
  `LoopSession` gives them the `await`-able methods of `AsyncSession`.

Without WAL (a database someone switched to a rollback journal, where COMMIT may
wait for readers) `storage/db.py` keeps the async session on aiosqlite's thread.
The price is the same as any on-loop work: a slow statement (a bulk purge, a WAL
checkpoint every ~1000 written pages) holds the loop for its milliseconds.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Generator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Result, make_url
from sqlalchemy.orm import Session, SessionTransaction

BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


class LoopSavepoint:
    """`await session.begin_nested()` or `async with session.begin_nested():`."""

    __slots__ = ("_transaction",)

    def __init__(self, transaction: SessionTransaction) -> None:
        self._transaction = transaction

    def __await__(self) -> Generator[Any, None, LoopSavepoint]:
        # Already begun: awaiting it just hands it over, as AsyncSession does.
        return self._itself().__await__()

    async def _itself(self) -> LoopSavepoint:
        return self

    async def commit(self) -> None:
        self._transaction.commit()

    async def rollback(self) -> None:
        self._transaction.rollback()

    async def __aenter__(self) -> LoopSavepoint:
        return self

    async def __aexit__(self, kind: object, exc: object, tb: object) -> None:
        self._transaction.__exit__(kind, exc, tb)


class LoopSession:
    """The part of `AsyncSession` the repositories use, over one connection whose
    statements run on the event loop (they never wait, see above).

    Core statements (the whole path of an update: `storage/repos/conversations.py`,
    the inbox, the outbox) go straight to the connection. An ORM `Session` joins
    the connection's transaction only when something asks for the ORM (an object
    added, an ORM query); from then on every statement of the unit goes through
    it, so that its autoflush sees them in order. A `Session` made and closed for
    every update cost about a sixth of the update (its transaction bookkeeping),
    for nothing on most of them."""

    __slots__ = ("_orm", "connection")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._orm: Session | None = None

    @property
    def sync_session(self) -> Session:
        """The ORM session of this unit, joined to its transaction on first use."""
        if self._orm is None:
            self._orm = Session(
                bind=self.connection,
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
            )
        return self._orm

    def _core(self, statement: Any) -> bool:
        # What `Session.execute` itself reads to tell an ORM statement from a Core one
        # (only the former autoflushes or returns objects).
        return self._orm is None and not getattr(statement, "_propagate_attrs", None)

    async def execute(
        self, statement: Any, params: Any = None, **kwargs: Any
    ) -> Result[*tuple[Any, ...]]:
        if self._core(statement):
            return self.connection.execute(statement, params, **kwargs)
        return self.sync_session.execute(statement, params, **kwargs)

    async def scalar(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if self._core(statement):
            return self.connection.scalar(statement, params, **kwargs)
        return self.sync_session.scalar(statement, params, **kwargs)

    async def scalars(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if self._core(statement):
            return self.connection.scalars(statement, params, **kwargs)
        return self.sync_session.scalars(statement, params, **kwargs)

    async def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        return self.sync_session.get(entity, ident, **kwargs)

    def add(self, instance: object) -> None:
        self.sync_session.add(instance)

    def add_all(self, instances: Sequence[object]) -> None:
        self.sync_session.add_all(instances)

    async def flush(self, objects: Sequence[object] | None = None) -> None:
        if self._orm is not None:
            self._orm.flush(objects)

    async def delete(self, instance: object) -> None:
        self.sync_session.delete(instance)

    async def refresh(self, instance: object, attribute_names: Any = None) -> None:
        self.sync_session.refresh(instance, attribute_names)

    def begin_nested(self) -> LoopSavepoint:
        return LoopSavepoint(self.sync_session.begin_nested())

    def end(self) -> None:
        """Before COMMIT: what the ORM still holds is written, its session ended."""
        if self._orm is not None:
            self._orm.commit()

    def close(self) -> None:
        if self._orm is not None:
            self._orm.close()


def _begin_if_free(connection: sqlite3.Connection, busy_ms: int) -> None:
    """BEGIN IMMEDIATE at once if no other process holds the write lock;
    otherwise nothing (the caller waits for it off the loop)."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        connection.execute(BEGIN_IMMEDIATE)
    except sqlite3.OperationalError:
        pass  # locked elsewhere
    finally:
        connection.execute(f"PRAGMA busy_timeout={busy_ms}")


class SqliteUnits:
    """Write transactions on one SQLite file, their statements on the loop."""

    def __init__(self, url: str, *, timeout: float) -> None:
        sync_url = make_url(url).set(drivername="sqlite+pysqlite")
        self.engine: Engine = create_engine(
            sync_url,
            # The lock wait runs on a worker thread (`_wait_for_lock`).
            connect_args={"timeout": timeout, "check_same_thread": False},
            hide_parameters=True,
        )
        self._wal: bool | None = None
        _events(self.engine, busy_ms=int(timeout * 1000))

    def wal(self) -> bool:
        """Whether the file is in WAL mode (a property of the file, kept once read)."""
        if self._wal is None:
            # The raw connection: no transaction (and no write lock) to read it.
            raw = self.engine.raw_connection()
            try:
                driver = raw.driver_connection
                assert driver is not None  # a fresh pool connection is open
                mode = driver.execute("PRAGMA journal_mode").fetchone()[0]
            finally:
                raw.close()
            self._wal = str(mode).lower() == "wal"
        return self._wal

    @asynccontextmanager
    async def session(self) -> AsyncIterator[LoopSession]:
        """One transaction: committed if the block ends normally, else rolled back."""
        with self.engine.connect() as connection:
            loop_session = LoopSession(connection)
            try:
                # The "begin" listener tries the lock.
                connection.begin()
                driver = connection.connection.driver_connection
                assert isinstance(driver, sqlite3.Connection)
                if not driver.in_transaction:
                    await _wait_for_lock(driver)
                yield loop_session
                loop_session.end()
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                loop_session.close()

    def dispose(self) -> None:
        self.engine.dispose()


async def _wait_for_lock(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE on a worker thread, with the connection's busy timeout. A
    cancelled wait still lets the thread finish before the connection is used
    again (the caller's rollback then ends whatever it began)."""
    waiting = asyncio.get_running_loop().run_in_executor(None, connection.execute, BEGIN_IMMEDIATE)
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        await asyncio.wait([waiting])
        raise


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """At connect, for both engines (the async one's connection is an adapter
    with the same surface)."""
    # Transactions are begun by the engines' "begin" listeners, not by pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _events(engine: Engine, *, busy_ms: int) -> None:
    event.listen(engine, "connect", sqlite_pragmas)

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        _begin_if_free(conn.connection.driver_connection, busy_ms)
