"""Roles: what must run in one process only, when several share one PostgreSQL.

A role is held through a PostgreSQL session lock, ``pg_try_advisory_lock(key)``,
on a connection of its own that this process keeps open (never a pooled one,
which could be handed back to the pool with the lock still held, or closed
under it). The server drops the lock with the session: at once when the
process dies (the kernel closes its socket) or when an administrator ends the
backend; within `IDLE_SESSION` seconds when the process is cut off
(``idle_session_timeout``; TCP keepalives as a second net). The others try again
every `TRY_EVERY` seconds, so a role changes hands within 10 s.

The holder checks its connection every `CHECK_EVERY` seconds (`SELECT 1`, at
most `CHECK_TIMEOUT`) and listens for the connection closing. Either way, it
stops the role's tasks at once: it may no longer be the holder. A winner waits
`FENCE` before starting a role, the time the previous holder needs to hear that
its connection closed; and the server ends an idle lock session only after a
holder that can no longer reach it has given the role up (`LEASE` <
`IDLE_SESSION`). So two processes never run a role at the same moment — the
Telegram poller above all (two pollers of one token take updates from each
other).

On SQLite there is one process (`storage.locks.SqliteLock`): it holds every role from
the start. The lock session itself (its SQL) is `storage.locks.LockSession`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database, is_sqlite
from storage.locks import LockSession, lock_key

log = logging.getLogger(__name__)

TELEGRAM_POLL = "telegram-poll"
MATRIX_SYNC = "matrix-sync"
SCHEDULER = "scheduler"

# Seconds. A holder of every role checks its lock connection this often...
CHECK_EVERY = 1.5
# ...a process that misses a role tries it this often (one cheap query),
TRY_EVERY = 1.0
# and a holder gives its roles up when a check takes longer than this,
CHECK_TIMEOUT = 1.5
# or when its last good check was sent longer ago than this (its loop was held
# up: the server may have ended the session meanwhile).
LEASE = 5.0
# The server ends a lock session idle this long (a holder cut off from it):
# longer than LEASE, so the holder has stopped first. A cut holder's roles are
# free IDLE_SESSION after its last check, taken TRY_EVERY + FENCE later at most.
IDLE_SESSION = 6.5
# A winner waits this long before starting the role: the previous holder hears
# of its closed connection in milliseconds (a frozen one has stopped long before).
FENCE = 0.5
# Between two attempts to connect when PostgreSQL does not answer.
RECONNECT = 2.0


def role_key(name: str) -> int:
    """The advisory lock's key: a stable signed 64-bit number per role name."""
    return lock_key(name)


@dataclass(slots=True)
class Role:
    """`start` prepares the role and makes its tasks. Losing the role calls
    `stop`, then cancels the tasks still running after `grace` seconds (0: at
    once)."""

    name: str
    start: Callable[[], Awaitable[list[asyncio.Task[None]]]]
    stop: Callable[[], None] = lambda: None
    grace: float = 0.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Leadership:
    """Which roles this process holds: `begin` makes the first attempt (the
    roles won start before the bot says it started), `run` keeps trying, holds
    and loses them."""

    def __init__(self, db: Database, process: str, roles: Sequence[Role]) -> None:
        self.db = db
        self.process = process
        self.roles = {role.name: role for role in roles}
        self.held: set[str] = set()
        # Times this process took each role (its first one included), for /metrics.
        self.takeovers: dict[str, int] = {name: 0 for name in self.roles}
        self._session: LockSession | None = None
        self._closed = asyncio.Event()  # the lock connection closed
        # When the last good check was sent (time.monotonic()): the server's idle
        # clock started after it, so the session lives until IDLE_SESSION later.
        self._checked: float | None = None
        self._closing = False
        self._reapers: set[asyncio.Task[None]] = set()

    @property
    def sole(self) -> bool:
        """SQLite: the only process, holding every role."""
        return is_sqlite(self.db.url)

    # -- what /healthz and /metrics read ------------------------------------------

    def holds(self, name: str) -> bool:
        """Held, and the lock checked recently enough to be sure of it."""
        if name not in self.held:
            return False
        if self.sole:
            return True
        return self._checked is not None and time.monotonic() - self._checked < LEASE

    def tasks(self) -> list[asyncio.Task[None]]:
        return [task for name in sorted(self.held) for task in self.roles[name].tasks]

    # -- the loop -----------------------------------------------------------------

    async def begin(self) -> None:
        if self.sole:
            for name in self.roles:
                self._take(name)
        else:
            try:
                await self._connect()
                await self._tick()
            except Exception as exc:
                await self._failed(exc)
        # The roles won are under way before the bot says it has started.
        await asyncio.gather(*self.tasks(), return_exceptions=True)

    async def run(self) -> None:
        if self.sole:
            await asyncio.Event().wait()  # held until the process stops
        while not self._closing:
            try:
                if self._session is None:
                    await self._connect()
                await self._tick()
                every = CHECK_EVERY if len(self.held) == len(self.roles) else TRY_EVERY
                await _until(self._closed, every)
                if self._closed.is_set():
                    raise ConnectionError("lock connection closed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(exc)
                if not self._closing:
                    await asyncio.sleep(RECONNECT)

    async def _connect(self) -> None:
        closed = asyncio.Event()

        def on_close() -> None:
            # The socket closed: the roles go now, not at the next check.
            if not self._closing and self.held:
                log.warning("lock connection closed: giving up %s", ", ".join(sorted(self.held)))
            self._lose_all()
            closed.set()

        self._session = await LockSession.open(
            self.db,
            application_name=f"aiguillage {self.process}",
            idle_session=IDLE_SESSION,
            timeout=CHECK_TIMEOUT * 2,
            on_close=on_close,
        )
        self._closed = closed
        self._checked = time.monotonic()

    async def _tick(self) -> None:
        """Check the lock connection and try the roles not held; start those won."""
        session, closed = self._session, self._closed
        assert session is not None  # connected by `begin` or `run`
        missing = [name for name in self.roles if name not in self.held]
        sent = time.monotonic()
        if missing:
            won = await session.try_locks([role_key(name) for name in missing], CHECK_TIMEOUT)
        else:
            await session.check(CHECK_TIMEOUT)
            won = set()
        # Measured now, as `holds` measures it: a poller that saw the lock in
        # doubt and stopped finds its role given up and started again, not
        # held with no task.
        if self._checked is None or time.monotonic() - self._checked >= LEASE:
            raise TimeoutError("the lock connection went unchecked too long")
        self._checked = sent
        winners = [name for name in missing if role_key(name) in won]
        if winners:
            # The previous holder hears of its closed connection meanwhile.
            await _until(closed, FENCE)
            if closed.is_set():
                raise ConnectionError("lock connection closed")
            for name in winners:
                self._take(name)

    async def _failed(self, exc: Exception) -> None:
        if self.held:
            log.warning(
                "lock connection lost (%s): giving up %s",
                type(exc).__name__,
                ", ".join(sorted(self.held)),
            )
        else:
            log.warning("lock connection failed (%s: %s)", type(exc).__name__, exc)
        self._lose_all()
        await self._close()

    # -- taking and losing ----------------------------------------------------------

    def _take(self, name: str) -> None:
        """The role's start runs in a task of its own (a Matrix sync may take a
        while): the lock checks go on meanwhile, and losing the role cancels it."""
        role = self.roles[name]
        self.held.add(name)
        self.takeovers[name] += 1
        log.info("%s holds the role %s", self.process, name)
        role.tasks = [asyncio.create_task(self._start(role), name=f"{name}-start")]

    async def _start(self, role: Role) -> None:
        tasks = await role.start()
        if role.name in self.held:
            role.tasks = tasks
        else:  # lost while starting
            for task in tasks:
                task.cancel()

    def _lose(self, name: str) -> None:
        if name not in self.held:
            return
        self.held.discard(name)
        role = self.roles[name]
        role.stop()
        if role.grace <= 0:
            for task in role.tasks:
                task.cancel()
        else:
            reaper = asyncio.get_running_loop().create_task(_reap(role.tasks, role.grace))
            self._reapers.add(reaper)
            reaper.add_done_callback(self._reapers.discard)
        log.info("%s gave up the role %s", self.process, name)

    def _lose_all(self) -> None:
        for name in sorted(self.held):
            self._lose(name)

    async def _close(self) -> None:
        session, self._session = self._session, None
        self._checked = None
        if session is not None:
            await session.close(CHECK_TIMEOUT)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop every role's tasks (those with a grace finish their work in hand,
        at most `grace` seconds), then end the lock session."""
        self._closing = True
        tasks = self.tasks()
        graceful = [
            task
            for name in self.held
            if self.roles[name].grace > 0
            for task in self.roles[name].tasks
        ]
        for name in list(self.held):
            self.roles[name].stop()
        if graceful:
            await asyncio.wait(graceful, timeout=grace)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._reapers, return_exceptions=True)
        self.held.clear()
        await self._close()


async def _until(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


async def _reap(tasks: Sequence[asyncio.Task[None]], grace: float) -> None:
    """Give a lost role's tasks `grace` seconds to finish their work in hand."""
    pending = [task for task in tasks if not task.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def start_tasks(
    *named: tuple[str, Callable[[], Coroutine[Any, Any, None]]],
) -> list[asyncio.Task[None]]:
    """One task per (name, coroutine function)."""
    return [asyncio.create_task(make(), name=name) for name, make in named]
