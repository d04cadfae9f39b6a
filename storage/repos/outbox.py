"""Messages waiting to be sent, per transport and address, in insertion order.

The statements every update and every delivery pass run (enqueue, due, mark
sent, next due) are built once and run as Core statements: building a
statement and flushing through the ORM cost more than SQLite's work."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, func, insert, select, update

from storage.models.core import OutboxMessage
from storage.session import DbSession, inserted_id, table_of

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
MATRIX = "matrix"


class RowPayload(Protocol):
    """A typed payload (bot/delivery/payloads.py) that knows its row's JSON."""

    def to_row(self) -> dict[str, Any]: ...


PayloadIn = RowPayload | dict[str, Any]


def _as_row(payload: PayloadIn) -> dict[str, Any]:
    return payload if isinstance(payload, dict) else payload.to_row()


_TABLE = table_of(OutboxMessage)
_ENQUEUE = insert(_TABLE)
_MARK_SENT = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(
        state=SENT,
        sent_at=bindparam("sent_at", type_=_TABLE.c.sent_at.type),
        external_id=bindparam("external_id", type_=_TABLE.c.external_id.type),
        attempts=_TABLE.c.attempts + 1,
    )
)
_NEXT_DUE_AT = select(func.min(OutboxMessage.next_attempt_at)).where(
    OutboxMessage.transport == bindparam("transport"), OutboxMessage.state == PENDING
)


def _due_query() -> Any:
    """Pending rows of addresses whose oldest pending row is due: a message
    never overtakes an earlier one to the same chat."""
    oldest = (
        select(OutboxMessage.address, func.min(OutboxMessage.id).label("first_id"))
        .where(OutboxMessage.transport == bindparam("transport"), OutboxMessage.state == PENDING)
        .group_by(OutboxMessage.address)
        .subquery()
    )
    blocked = (
        select(oldest.c.address)
        .join(OutboxMessage, OutboxMessage.id == oldest.c.first_id)
        .where(OutboxMessage.next_attempt_at > bindparam("now"))
    )
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.transport == bindparam("transport"),
            OutboxMessage.state == PENDING,
            OutboxMessage.address.not_in(blocked),
        )
        .order_by(OutboxMessage.id)
        .limit(bindparam("limit"))
    )


_DUE = _due_query()


def _new_row(transport: str, address: str, payload: PayloadIn, now: datetime) -> dict[str, Any]:
    """The values of a message queued now, due at once."""
    return {
        "transport": transport,
        "address": address,
        "payload": _as_row(payload),
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


class OutboxRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def enqueue(
        self, *, transport: str, address: str, payload: PayloadIn, now: datetime
    ) -> OutboxMessage:
        row = _as_row(payload)
        if transport == MATRIX and "txn_id" not in row:
            # Matrix sends are idempotent by transaction id only: it must be in
            # the row before the first attempt, so a retry reuses it.
            row = {**row, "txn_id": f"aig-{uuid.uuid4().hex}"}
        values = _new_row(transport, address, row, now)
        result = await self.session.execute(_ENQUEUE, values)
        # What the row holds, for the caller (not attached to the session).
        return OutboxMessage(id=inserted_id(result), **values)

    async def enqueue_all(
        self, *, transport: str, address: str, payloads: Sequence[PayloadIn], now: datetime
    ) -> int:
        """Several messages to one chat, in this order, in one statement."""
        if transport == MATRIX:
            for payload in payloads:
                await self.enqueue(transport=transport, address=address, payload=payload, now=now)
            return len(payloads)
        if payloads:
            await self.session.execute(
                _ENQUEUE, [_new_row(transport, address, payload, now) for payload in payloads]
            )
        return len(payloads)

    async def due(
        self, transport: str, now: datetime, limit: int = 200, skip: Collection[str] = ()
    ) -> Sequence[OutboxMessage]:
        """Pending rows of addresses whose oldest pending row is due, in order;
        none of the addresses in `skip` (being delivered already)."""
        query = _DUE if not skip else _DUE.where(OutboxMessage.address.not_in(list(skip)))
        result = await self.session.scalars(
            query, {"transport": transport, "now": now, "limit": limit}
        )
        return result.all()

    async def get(self, row_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, row_id)

    async def mark_sent(self, row_id: int, *, external_id: str | None, now: datetime) -> None:
        await self.mark_all_sent([(row_id, external_id)], now=now)

    async def mark_all_sent(self, sent: Sequence[tuple[int, str | None]], *, now: datetime) -> None:
        """Rows sent, with the id each got from its transport: one statement."""
        if sent:
            await self.session.execute(
                _MARK_SENT,
                [
                    {"row_id": row_id, "external_id": external_id, "sent_at": now}
                    for row_id, external_id in sent
                ],
            )

    async def retry_later(self, row_id: int, *, at: datetime, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(next_attempt_at=at, last_error=error[:500], attempts=OutboxMessage.attempts + 1)
        )

    async def mark_failed(self, row_id: int, *, error: str, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(
                state=FAILED,
                last_error=error[:500],
                sent_at=now,
                attempts=OutboxMessage.attempts + 1,
            )
        )

    async def pending_count(self, transport: str | None = None) -> int:
        query = select(func.count(OutboxMessage.id)).where(OutboxMessage.state == PENDING)
        if transport:
            query = query.where(OutboxMessage.transport == transport)
        return int(await self.session.scalar(query) or 0)

    async def next_due_at(self, transport: str) -> datetime | None:
        return await self.session.scalar(_NEXT_DUE_AT, {"transport": transport})

    async def purge_sent_before(self, moment: datetime) -> int:
        result = await self.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.state != PENDING, OutboxMessage.sent_at < moment
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at 10 minutes."""
    return timedelta(seconds=min(600, 2 ** max(1, attempts + 1)))
