"""Locks that say which process may act: PostgreSQL session locks for the roles of
several processes (bot/runtime/leadership.py), and a file lock that keeps a SQLite
database to one bot process.

A PostgreSQL session lock (``pg_try_advisory_lock``) lives as long as the session
that took it, so it is taken on a connection of its own, never a pooled one (a
pool could hand the connection back with the lock still held, or close it under
it). The server drops the lock with the session: at once when the process dies
(the kernel closes its socket) or an administrator ends the backend; after
`idle_session` seconds of silence when the process is cut off from it.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from storage.db import Database

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name."""
    digest = hashlib.sha256(f"aiguillage:role:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def session_settings(idle_session: float) -> tuple[tuple[str, str], ...]:
    """Server-side settings of a lock session: a session silent for `idle_session`
    seconds is ended (its locks go), TCP keepalives as a second net. Each is tried;
    one this server does not know (idle_session_timeout came with PostgreSQL 14)
    is skipped."""
    milliseconds = f"{int(idle_session * 1000)}"
    return (
        ("idle_session_timeout", milliseconds),
        ("tcp_keepalives_idle", "3"),
        ("tcp_keepalives_interval", "1"),
        ("tcp_keepalives_count", "3"),
        ("tcp_user_timeout", milliseconds),
    )


class LockSession:
    """One PostgreSQL session holding advisory locks. `on_close` is called as soon
    as its socket closes (asyncpg's termination listener), not at the next query."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection  # asyncpg.Connection, imported on PostgreSQL only

    @classmethod
    async def open(
        cls,
        db: Database,
        *,
        application_name: str,
        idle_session: float,
        timeout: float,
        on_close: Callable[[], None],
    ) -> LockSession:
        import asyncpg

        _, options = db.engine.dialect.create_connect_args(db.engine.url)
        connection = await asyncpg.connect(
            **options,
            timeout=timeout,
            server_settings={"application_name": application_name[:63]},
        )
        connection.add_termination_listener(lambda _: on_close())
        for name, value in session_settings(idle_session):
            try:
                await connection.execute(f"SET {name} = {value}")
            except asyncpg.PostgresError:
                log.debug("this PostgreSQL has no %s", name)
        return cls(connection)

    async def try_locks(self, keys: Sequence[int], timeout: float) -> set[int]:
        """Try each key once; the keys won (held by this session from now on)."""
        rows = await asyncio.wait_for(
            self.connection.fetch(
                "SELECT k, pg_try_advisory_lock(k) AS won FROM unnest($1::bigint[]) AS k",
                list(keys),
            ),
            timeout,
        )
        return {row["k"] for row in rows if row["won"]}

    async def check(self, timeout: float) -> None:
        """The session still answers (its locks are still held)."""
        await asyncio.wait_for(self.connection.fetchval("SELECT 1"), timeout)

    def is_closed(self) -> bool:
        return bool(self.connection.is_closed())

    async def close(self, timeout: float) -> None:
        """Closing the session releases its locks on the server."""
        if self.connection.is_closed():
            return
        try:
            await asyncio.wait_for(self.connection.close(), timeout)
        except Exception:
            self.connection.terminate()


# -- SQLite: one process ---------------------------------------------------------------


class SqliteInUse(Exception):
    """Another process has this SQLite file open as a bot."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


class SqliteLock:
    """``<file>.lock`` next to the database, locked (``flock``) for the life of
    the process: a second bot on the same file is refused before it writes
    anything. The kernel releases the lock when the process ends, even by
    ``kill -9``; the file itself stays, empty, and means nothing."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._file: IO[bytes] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SqliteInUse(self.path.with_name(self.path.stem)) from exc
            raise
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None
