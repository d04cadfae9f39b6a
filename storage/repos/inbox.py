"""Ids of incoming updates already handled (deduplication)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from storage.models.core import ProcessedUpdate
from storage.session import DbSession, table_of

# Built once: every incoming update runs it (a Core statement skips the ORM flush).
_CLAIM = insert(table_of(ProcessedUpdate))


class DuplicateUpdate(Exception):
    """This update was processed already; its unit of work must be abandoned."""


class InboxRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def claim(self, transport: str, update_key: str, now: datetime) -> None:
        """Insert the id; the primary key refuses a second one (no check-then-insert)."""
        try:
            await self.session.execute(
                _CLAIM, {"transport": transport, "update_key": update_key, "processed_at": now}
            )
        except IntegrityError as exc:
            raise DuplicateUpdate(f"{transport}:{update_key}") from exc

    async def purge_before(self, moment: datetime) -> int:
        """Telegram keeps undelivered updates 24 h at most; older ids can go."""
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < moment)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def has_any(self, transport: str) -> bool:
        """Whether any id of this transport is recorded (e.g. a digest ever sent)."""
        found = await self.session.scalar(
            select(ProcessedUpdate.update_key)
            .where(ProcessedUpdate.transport == transport)
            .limit(1)
        )
        return found is not None
