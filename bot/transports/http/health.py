"""`/healthz`: does the database answer, and are the bot's loops alive?

A load balancer or a monitoring probe reads the status code (200 or 503); the
small JSON body tells a person which part is failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
# How long a probe waits for the database before calling it unavailable.
PROBE_TIMEOUT = 5.0
_background: set[asyncio.Task[Any]] = set()


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    body: dict[str, Any]


async def bounded(work: Awaitable[T], timeout: float = PROBE_TIMEOUT) -> T:
    """Wait at most `timeout` for `work`. Past it the work goes on in the
    background rather than being cancelled inside a transaction (a cancelled
    unit of work leaves its connection to be closed later, see BotService.stop)."""
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_forget)
    return await asyncio.wait_for(asyncio.shield(task), timeout)


def _forget(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" warning


async def check(
    db: Database, tasks: Iterable[asyncio.Task[Any]], matrix: str | None = None
) -> Health:
    """`matrix`: the homeserver's state seen by the sync loop (None without
    Matrix). A homeserver down or hung makes the bot *degraded*, not down: the
    status code stays 200 (restarting the bot would not bring the homeserver
    back, and Telegram is still served), the body says ``degraded``."""
    database = "ok"
    try:
        await bounded(db.ping())
    except TimeoutError:
        database = "timeout"
    except Exception as exc:
        # The exception type only: a driver message may quote connection details.
        log.warning("health check: the database does not answer (%s)", type(exc).__name__)
        database = "error"
    states = {task.get_name(): "stopped" if task.done() else "running" for task in tasks}
    ok = database == "ok" and all(state == "running" for state in states.values())
    status = "ok" if ok else "unavailable"
    if ok and matrix not in (None, "ok"):
        status = "degraded"
    body: dict[str, Any] = {"status": status, "database": database, "tasks": states}
    if matrix is not None:
        body["matrix"] = matrix
    return Health(ok=ok, body=body)
