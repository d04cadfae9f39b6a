from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation


class ConversationsRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_update(self, transport: str, address: str) -> Conversation | None:
        """The chat's row, locked until commit on PostgreSQL so that two updates of
        one chat never interleave (SQLite already serialises writers)."""
        return await self.session.scalar(
            select(Conversation)
            .where(Conversation.transport == transport, Conversation.address == address)
            .with_for_update()
        )

    async def save(
        self,
        row: Conversation | None,
        *,
        transport: str,
        address: str,
        person_id: int | None,
        state: dict[str, Any],
        now: datetime,
    ) -> Conversation:
        if row is None:
            row = Conversation(transport=transport, address=address)
            self.session.add(row)
        row.state = state
        row.person_id = person_id if person_id is not None else row.person_id
        row.updated_at = now
        await self.session.flush()
        return row

    async def forget(self, transport: str, address: str) -> None:
        await self.session.execute(
            delete(Conversation).where(
                Conversation.transport == transport, Conversation.address == address
            )
        )
