"""Where each chat stands. Every incoming update loads its chat's row and saves
it back, so those statements are built once and run as Core statements: the
row comes back as a small `ChatRow`, not an ORM object (loading one into the
session and flushing it cost several times SQLite's work for one row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from storage.models.core import Case, Conversation
from storage.repos.coordination import ANY_PENDING_IN_CHAT
from storage.repos.nudges import ANY_AWAITING_TEXT, ANY_BLOCKED
from storage.session import DbSession, inserted_id, table_of

_TABLE = table_of(Conversation)
# Correlated with the chat's row: whether its person has any case (Core columns, as in
# storage/repos/nudges.py's).
_CASES = table_of(Case)
_ANY_CASE = select(_CASES.c.id).where(_CASES.c.person_id == _TABLE.c.person_id).limit(1)
_FOR_UPDATE = (
    # Four questions ride along with the row, each an indexed EXISTS: every update
    # asked them in statements of their own, each costing as much as the row's, and
    # their answer is "no" for most chats (no blocked follow-up, no nudge waiting for
    # text, no case yet during an intake, no coordination command half-way), which
    # spares the queries that follow.
    select(
        _TABLE.c.id,
        _TABLE.c.person_id,
        _TABLE.c.state,
        ANY_BLOCKED.exists().label("nudges_blocked"),
        ANY_AWAITING_TEXT.exists().label("nudge_awaits_text"),
        _ANY_CASE.exists().label("has_cases"),
        ANY_PENDING_IN_CHAT.exists().label("pending_action"),
    )
    .where(
        _TABLE.c.transport == bindparam("transport"),
        _TABLE.c.address == bindparam("address"),
    )
    .with_for_update()
)
_INSERT = insert(_TABLE)
_SAVE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(
        state=bindparam("state", type_=_TABLE.c.state.type),
        person_id=bindparam("person_id", type_=_TABLE.c.person_id.type),
        updated_at=bindparam("updated_at", type_=_TABLE.c.updated_at.type),
    )
)


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A chat's row as loaded: its id, person and dialog state (JSON), and what the
    update will ask next (None: not known, ask): whether some of its nudges were
    stopped because the person blocked the bot, whether one waits for typed text
    (`NudgesRepo.awaiting_text`), whether its person has any case, whether anyone
    in it has a coordination action pending (`CoordinationRepo.pending`)."""

    id: int
    person_id: int | None
    state: dict[str, Any]
    nudges_blocked: bool | None = None
    nudge_awaits_text: bool | None = None
    has_cases: bool | None = None
    pending_action: bool | None = None


class ConversationsRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def for_update(self, transport: str, address: str) -> ChatRow | None:
        """The chat's row, locked until commit on PostgreSQL so that two updates of
        one chat never interleave (SQLite already serialises writers)."""
        result = await self.session.execute(
            _FOR_UPDATE, {"transport": transport, "address": address}
        )
        found = result.first()
        if found is None:
            return None
        return ChatRow(
            found.id,
            found.person_id,
            found.state,
            nudges_blocked=bool(found.nudges_blocked),
            nudge_awaits_text=bool(found.nudge_awaits_text),
            has_cases=bool(found.has_cases),
            pending_action=bool(found.pending_action),
        )

    async def save(
        self,
        row: ChatRow | None,
        *,
        transport: str,
        address: str,
        person_id: int | None,
        state: dict[str, Any],
        now: datetime,
    ) -> ChatRow:
        """Insert the chat's row (`row` None) or update the loaded one; a person
        once known stays (None keeps the row's)."""
        if row is None:
            result = await self.session.execute(
                _INSERT,
                {
                    "transport": transport,
                    "address": address,
                    "person_id": person_id,
                    "state": state,
                    "updated_at": now,
                },
            )
            return ChatRow(inserted_id(result), person_id, state)
        person_id = person_id if person_id is not None else row.person_id
        await self.session.execute(
            _SAVE,
            {"row_id": row.id, "state": state, "person_id": person_id, "updated_at": now},
        )
        return ChatRow(row.id, person_id, state)

    async def forget(self, transport: str, address: str) -> None:
        await self.session.execute(
            delete(Conversation).where(
                Conversation.transport == transport, Conversation.address == address
            )
        )
