"""What repositories are given: SQLAlchemy's `AsyncSession`, or on a SQLite file
in WAL mode its on-loop stand-in with the same awaitable methods
(storage/sqlite_units.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias, TypeVar, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached

from storage.sqlite_units import LoopSession

DbSession = AsyncSession | LoopSession
Model = TypeVar("Model", bound=DeclarativeBase)
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


def adopt(session: DbSession, model: type[Model], values: Mapping[str, Any]) -> Model:
    """The ORM object of a row just written by a Core INSERT (`values`: every column,
    its key included), put in the session as if loaded: later changes to it are
    flushed as usual, and nothing is read back. A flush of a new object costs
    several times the INSERT it writes (the unit of work's bookkeeping)."""
    missing = set(table_of(model).c.keys()) - values.keys()
    assert not missing, f"{model.__name__}: no value for {sorted(missing)}"
    row = model(**values)
    # Its history reset as if loaded: nothing to write at the next flush.
    make_transient_to_detached(row)
    session.add(row)
    return row
