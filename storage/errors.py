"""Telling "the database is away for a moment" from "this work is broken".

A transport that meets the first must keep the update and try it again later
(Telegram: do not confirm it; the next getUpdates brings it back), never
apologise and move on: the person's answer would be lost. The second is a bug
in handling one update, which must not block every update behind it.
"""

from __future__ import annotations

from collections.abc import Iterator

from asyncpg import exceptions as pg
from sqlalchemy import exc as sa

# SQLite reports a busy, locked, missing or full file as OperationalError, like
# a missing table; only these are worth waiting for.
_SQLITE_TRANSIENT = (
    "locked",
    "busy",
    "unable to open",
    "disk i/o",
    "readonly",
    "disk is full",
)
_PG_TRANSIENT = (
    pg.PostgresConnectionError,
    pg.OperatorInterventionError,  # shutting down, starting up
    pg.TooManyConnectionsError,
    pg.InterfaceError,  # "connection is closed"
)


def causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or written just
    now (connection refused or lost, server restarting, file locked)."""
    for link in causes(exc):
        if isinstance(link, (OSError, TimeoutError, *_PG_TRANSIENT)):
            return True
        if isinstance(link, sa.DBAPIError) and link.connection_invalidated:
            return True
        if isinstance(link, sa.DisconnectionError | sa.TimeoutError | sa.InterfaceError):
            return True
        if isinstance(link, sa.OperationalError):
            text = str(link.orig or link).lower()
            dialect_is_sqlite = "sqlite" in type(link.orig).__module__
            if not dialect_is_sqlite or any(word in text for word in _SQLITE_TRANSIENT):
                return True
    return False
