"""What repositories are given: SQLAlchemy's `AsyncSession`, or on a SQLite file
in WAL mode its on-loop stand-in with the same awaitable methods
(storage/sqlite_units.py)."""

from __future__ import annotations

from typing import Any, TypeAlias, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from storage.sqlite_units import LoopSession

DbSession = AsyncSession | LoopSession
# What `DbSession.execute` gives back: rows of any shape.
AnyResult: TypeAlias = "Result[*tuple[Any, ...]]"


def table_of(model: type[DeclarativeBase]) -> Table:
    """A mapped class's `Table`, for the Core statements built once (SQLAlchemy types
    ``__table__`` as any `FromClause`)."""
    table = model.__table__
    assert isinstance(table, Table), model
    return table


def inserted_id(result: AnyResult) -> int:
    """The primary key a Core INSERT gave. `execute` is typed as returning a `Result`;
    for an INSERT it is a `CursorResult`, which knows the key."""
    key = cast("CursorResult[*tuple[Any, ...]]", result).inserted_primary_key
    assert key is not None, "not an INSERT"
    return int(key[0])
