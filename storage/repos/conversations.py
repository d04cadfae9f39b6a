"""Where each chat stands. Every incoming update loads its chat's row and saves
it back, so those two statements are built once and the save is a Core UPDATE
(an ORM flush costs several times more for one row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import Conversation

_FOR_UPDATE = (
    select(Conversation)
    .where(
        Conversation.transport == bindparam("transport"),
        Conversation.address == bindparam("address"),
    )
    .with_for_update()
)
_TABLE = Conversation.__table__
_SAVE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(
        state=bindparam("state", type_=_TABLE.c.state.type),
        person_id=bindparam("person_id", type_=_TABLE.c.person_id.type),
        updated_at=bindparam("updated_at", type_=_TABLE.c.updated_at.type),
    )
)


class ConversationsRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_update(self, transport: str, address: str) -> Conversation | None:
        """The chat's row, locked until commit on PostgreSQL so that two updates of
        one chat never interleave (SQLite already serialises writers)."""
        return await self.session.scalar(_FOR_UPDATE, {"transport": transport, "address": address})

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
        if row is None or row.id is None:
            if row is None:
                row = Conversation(transport=transport, address=address)
                self.session.add(row)
            row.state = state
            row.person_id = person_id
            row.updated_at = now
            await self.session.flush()
            return row
        person_id = person_id if person_id is not None else row.person_id
        await self.session.execute(
            _SAVE,
            {"row_id": row.id, "state": state, "person_id": person_id, "updated_at": now},
        )
        # The loaded object says what the row now holds, without a second write
        # at commit (set_committed_value records no change to flush).
        set_committed_value(row, "state", state)
        set_committed_value(row, "person_id", person_id)
        set_committed_value(row, "updated_at", now)
        return row

    async def forget(self, transport: str, address: str) -> None:
        await self.session.execute(
            delete(Conversation).where(
                Conversation.transport == transport, Conversation.address == address
            )
        )
