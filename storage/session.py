"""What repositories are given: SQLAlchemy's `AsyncSession`, or on a SQLite file
in WAL mode its on-loop stand-in with the same awaitable methods
(storage/sqlite_units.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.sqlite_units import LoopSession

DbSession = AsyncSession | LoopSession
