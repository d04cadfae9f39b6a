"""Ids of incoming updates already handled (deduplication)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


class DuplicateUpdate(Exception):
    """This update was processed already; its unit of work must be abandoned."""


class InboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, transport: str, update_key: str, now: datetime) -> None:
        """Insert the id; the primary key refuses a second one (no check-then-insert)."""
        self.session.add(
            ProcessedUpdate(transport=transport, update_key=update_key, processed_at=now)
        )
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise DuplicateUpdate(f"{transport}:{update_key}") from exc

    async def purge_before(self, moment: datetime) -> int:
        """Telegram keeps undelivered updates 24 h at most; older ids can go."""
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < moment)
        )
        return int(getattr(result, "rowcount", 0) or 0)
