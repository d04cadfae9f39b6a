"""aiosqlite connections that leave the event loop only when SQLite may wait.

aiosqlite runs every sqlite3 call on its own thread, and SQLAlchemy's adapter
makes one call per cursor step (create the cursor, execute, fetch, close; a
ROLLBACK when the pool takes the connection back): about 45 thread round trips
per incoming update. A round trip wakes another thread and hands the GIL back
and forth: 40 µs on an idle small virtual machine, far more when its cores are
busy, while an indexed SQLite statement costs a few µs.

The thread is there so that the loop never blocks on a lock. Once `BEGIN
IMMEDIATE` holds SQLite's write lock, nothing in the transaction can wait for
one: in WAL mode readers never block the writer, and with `synchronous=NORMAL`
a COMMIT appends to the journal without flushing it. So `LoopConnection`:

- tries `BEGIN IMMEDIATE` on the loop with a zero busy timeout; if another
  process holds the lock, it waits for it on the thread as before, with the
  configured busy timeout, while the loop serves everything else;
- runs the statements of a write transaction, its COMMIT or ROLLBACK on the
  loop, each cursor step in one go (execute, fetch every row, close);
- runs anything else on the thread (the PRAGMAs at connect, any statement
  outside a write transaction, everything if the database is not in WAL mode,
  where a COMMIT may have to wait for readers), and skips a COMMIT or ROLLBACK
  with no transaction open (sqlite3 itself would do nothing).

Statements, transactions and errors are sqlite3's own; only the thread they
run on changes. The price: while a statement runs, the loop waits for it. The
bot's statements take microseconds; a bulk purge takes milliseconds, and so
does the WAL checkpoint SQLite runs at a COMMIT every ~1000 written pages
(docs/architecture.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url

BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


class _Done:
    """What one statement left behind, copied out of the sqlite3 cursor."""

    __slots__ = ("description", "lastrowid", "rowcount", "rows")

    def __init__(
        self, description: Any, rows: list[Any], rowcount: int, lastrowid: int | None
    ) -> None:
        self.description = description
        self.rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    @classmethod
    def of(cls, cursor: sqlite3.Cursor) -> _Done:
        rows = cursor.fetchall() if cursor.description else []
        # After the fetch: a RETURNING statement counts its rows as they come.
        return cls(cursor.description, rows, cursor.rowcount, cursor.lastrowid)


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Done:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        return _Done.of(cursor)
    finally:
        cursor.close()


class LoopCursor:
    """The part of `aiosqlite.Cursor` that SQLAlchemy's adapter uses. Rows are
    fetched whole with the statement (SQLite is in process; nothing here
    streams large results)."""

    arraysize = 1

    def __init__(self, connection: LoopConnection) -> None:
        self._connection = connection
        self._done: _Done | None = None
        self._at = 0

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Any = None) -> LoopCursor:
        self._done = await self._connection._statement(sql, parameters or (), many=False)
        self._at = 0
        return self

    async def executemany(self, sql: str, parameters: Any) -> LoopCursor:
        self._done = await self._connection._statement(sql, parameters, many=True)
        self._at = 0
        return self

    @property
    def description(self) -> Any:
        return self._done.description if self._done is not None else None

    @property
    def rowcount(self) -> int:
        return self._done.rowcount if self._done is not None else -1

    @property
    def lastrowid(self) -> int | None:
        return self._done.lastrowid if self._done is not None else None

    def _take(self, count: int | None) -> list[Any]:
        if self._done is None:
            return []
        rows = self._done.rows
        end = len(rows) if count is None else min(len(rows), self._at + count)
        taken = rows[self._at : end]
        self._at = end
        return taken

    async def fetchall(self) -> list[Any]:
        return self._take(None)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._take(size if size is not None else self.arraysize)

    async def fetchone(self) -> Any:
        taken = self._take(1)
        return taken[0] if taken else None

    async def close(self) -> None:
        self._done = None


class LoopConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        # Unknown until the first call: a transaction may be open.
        self._in_transaction = True
        # Set by a successful BEGIN IMMEDIATE, cleared when the transaction ends.
        self._writing = False
        # WAL mode seen (it is a property of the database file, kept once set).
        self._wal = False

    def _note(self) -> None:
        """Record whether SQLite has a transaction open (after every call)."""
        try:
            self._in_transaction = self._conn.in_transaction
        except (ValueError, sqlite3.ProgrammingError):  # closed
            self._in_transaction = False
        if not self._in_transaction:
            self._writing = False

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        function = partial(fn, *args, **kwargs)

        def tracked() -> Any:
            try:
                return function()
            finally:
                self._note()

        return await super()._execute(tracked)

    async def _statement(self, sql: str, parameters: Any, *, many: bool) -> _Done:
        if self._writing:
            try:
                return _run(self._conn, sql, parameters, many)
            finally:
                self._note()
        if not many and sql.strip().upper() == BEGIN_IMMEDIATE and self.begin_immediate_now():
            return _Done(None, [], -1, None)
        done: _Done = await self._execute(_run, self._conn, sql, parameters, many)
        if not many and sql.strip().upper() == BEGIN_IMMEDIATE:
            self._writing = self._in_transaction and self._wal
        return done

    def begin_immediate_now(self) -> bool:
        """BEGIN IMMEDIATE on the loop if the write lock is free at once; False
        (and no transaction) if not: then run it as a statement, which waits.
        Only in WAL mode: with a rollback journal, COMMIT itself may have to
        wait for readers, so everything stays on the thread."""
        if self._in_transaction:
            return False  # SQLite will refuse a nested BEGIN: let it say so on the thread
        connection = self._conn
        busy_ms = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
        connection.execute("PRAGMA busy_timeout=0")
        try:
            if not self._wal:
                mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
                self._wal = str(mode).lower() == "wal"
                if not self._wal:
                    return False
            connection.execute(BEGIN_IMMEDIATE)
        except sqlite3.OperationalError:
            return False  # locked by another process: wait on the thread
        finally:
            connection.execute(f"PRAGMA busy_timeout={busy_ms}")
            self._note()
        self._writing = True
        return True

    def cursor(self) -> LoopCursor:  # type: ignore[override]
        # No round trip: the sqlite3 cursor is made by each execute.
        return LoopCursor(self)

    async def commit(self) -> None:
        if not self._in_transaction:
            return
        if self._writing:
            try:
                self._conn.commit()
            finally:
                self._note()
            return
        await super().commit()

    async def rollback(self) -> None:
        if not self._in_transaction:
            return
        if self._writing:
            # Never waits: it drops this connection's uncommitted pages.
            try:
                self._conn.rollback()
            finally:
                self._note()
            return
        await super().rollback()


def connection_creator(url: str, **connect_args: Any) -> Callable[[], Awaitable[LoopConnection]]:
    """An `async_creator` for `create_async_engine`, opening the database with
    the arguments SQLAlchemy itself derives from the URL."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    kwargs = {**kwargs, **connect_args}
    # Used by the loop and by the aiosqlite thread, never by both at once.
    kwargs["check_same_thread"] = False

    async def create() -> LoopConnection:
        connection = LoopConnection(lambda: sqlite3.connect(*args, **kwargs))
        # As SQLAlchemy does for aiosqlite: a forgotten connection must not
        # keep the process alive at exit.
        connection._thread.daemon = True
        return await connection

    return create
