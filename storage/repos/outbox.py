"""Messages waiting to be sent, per transport and address, in insertion order.

The statements every update and every delivery pass run (enqueue, claim, mark
sent, next due) are built once and run as Core statements: building a
statement and flushing through the ORM cost more than SQLite's work.

Several processes may deliver from one PostgreSQL database: a delivery pass
*claims* its rows (`claim`), writing a lease (owner, until) on each, and a
result clears it. See `claim` for the rules that keep each conversation in
order across processes."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, update

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
        lease_owner=None,
        lease_until=None,
    )
)
# Every result and every release clears the lease.
_NO_LEASE: dict[str, Any] = {"lease_owner": None, "lease_until": None}
# A row leased to a live process is due for the others when its lease ends
# (if its holder neither sends nor releases it before).
_NEXT_DUE_AT = select(
    func.min(
        case(
            (
                _TABLE.c.lease_until > _TABLE.c.next_attempt_at,
                _TABLE.c.lease_until,
            ),
            else_=_TABLE.c.next_attempt_at,
        )
    )
).where(_TABLE.c.transport == bindparam("transport"), _TABLE.c.state == PENDING)


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


def _claim_query() -> Any:
    """Rows a pass may claim, in order, each with the id of the pending row
    before it in its conversation (`prev`, NULL for the first). An address is
    left out while its first pending row is not due (the rule of `_due_query`)
    or while any of its pending rows is under a live lease (in flight in this
    process or another). Rows are locked and skipped if locked (FOR UPDATE
    SKIP LOCKED; SQLite ignores it and serialises writers with BEGIN
    IMMEDIATE). The lease condition is on the row itself, so PostgreSQL checks
    it again on the row's latest version when it locks it: a row another
    process claimed and committed meanwhile is not returned."""
    # Table columns, not the ORM class's: a Core statement needs no ORM session.
    pending = (
        select(
            _TABLE.c.id,
            _TABLE.c.address,
            _TABLE.c.next_attempt_at,
            _TABLE.c.lease_until,
            func.lag(_TABLE.c.id)
            .over(partition_by=_TABLE.c.address, order_by=_TABLE.c.id)
            .label("prev"),
        )
        .where(_TABLE.c.transport == bindparam("transport"), _TABLE.c.state == PENDING)
        .cte("pending")
    )
    held = select(pending.c.address).where(
        or_(
            and_(pending.c.prev.is_(None), pending.c.next_attempt_at > bindparam("now")),
            pending.c.lease_until > bindparam("now"),
        )
    )
    t = _TABLE.c
    return (
        select(t.id, t.address, t.payload, t.attempts, t.lease_owner, t.takeovers, pending.c.prev)
        .join(pending, pending.c.id == t.id)
        .where(
            t.state == PENDING,
            or_(t.lease_until.is_(None), t.lease_until <= bindparam("now")),
            t.address.not_in(held),
        )
        .order_by(t.id)
        .limit(bindparam("limit"))
        .with_for_update(of=_TABLE, skip_locked=True)
    )


_CLAIM = _claim_query()
_LEASE = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        lease_owner=bindparam("owner"),
        lease_until=bindparam("until", type_=_TABLE.c.lease_until.type),
    )
)
_TAKEN_OVER = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(takeovers=func.coalesce(_TABLE.c.takeovers, 0) + 1)
)


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """What a delivery pass needs of a claimed row, as it was when claimed
    (`lease_owner`: its previous holder, if any). Plain values, not ORM
    entities: loading entities into the session was a third of a claim's
    cost, and nothing writes a claimed row through the session."""

    id: int
    address: str
    payload: dict[str, Any]
    attempts: int
    lease_owner: str | None
    takeovers: int | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a pass took: `rows` to send, in order per conversation, leased to
    the claimer; `resumed`, those of them taken from a process that died while
    it may have been sending them (each is sent again, at most once more);
    `given_up`, rows that were already taken over once and would be sent a
    third time: marked failed instead."""

    rows: list[ClaimedRow]
    resumed: list[ClaimedRow]
    given_up: list[ClaimedRow]


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

    async def claim(
        self,
        transport: str,
        now: datetime,
        *,
        owner: str,
        until: datetime,
        limit: int = 200,
        skip: Collection[str] = (),
    ) -> Claimed:
        """Claim the due rows of `transport` for `owner` until `until`.

        Order per conversation across processes: a conversation is taken whole
        from its first pending row, its rows contiguous; one whose first row,
        or a row between, is missing from the answer (locked by another
        process, or cut by `limit`) keeps only the rows before the gap, so no
        row is ever sent before an earlier one of the same conversation.

        A crash repeats a send at most once: the previous holder of an expired
        lease sent its conversation's rows one by one, each result recorded
        before the next send, so only the conversation's first pending row may
        have been in flight when it died. That row counts as resumed; if it
        was resumed once already, it is given up rather than sent a third time
        (a row that kills every process that sends it stops there too)."""
        result = await self.session.execute(
            _CLAIM, {"transport": transport, "now": now, "limit": limit}
        )
        last: dict[str, int | None] = {}
        cut: set[str] = set(skip)
        rows: list[ClaimedRow] = []
        resumed: list[ClaimedRow] = []
        given_up: list[ClaimedRow] = []
        for row_id, address, payload, attempts, lease_owner, takeovers, prev in result.all():
            if address in cut:
                continue
            # The row before it in its conversation must be the one taken just
            # before (none, for the conversation's first pending row).
            if prev != last.get(address):
                cut.add(address)
                continue
            row = ClaimedRow(row_id, address, payload, attempts, lease_owner, takeovers)
            last[address] = row_id
            if prev is None and lease_owner is not None:
                if row.takeovers:
                    given_up.append(row)
                    continue
                resumed.append(row)
            rows.append(row)
        if given_up:
            await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in given_up]))
                .values(
                    state=FAILED,
                    last_error="interrupted by a crash twice: not sent a third time",
                    sent_at=now,
                    **_NO_LEASE,
                )
            )
        if resumed:
            await self.session.execute(_TAKEN_OVER, {"ids": [row.id for row in resumed]})
        if rows:
            await self.session.execute(
                _LEASE, {"ids": [row.id for row in rows], "owner": owner, "until": until}
            )
        return Claimed(rows=rows, resumed=resumed, given_up=given_up)

    async def renew(self, transport: str, *, owner: str, until: datetime) -> int:
        """Extend the leases `owner` holds on pending rows of `transport`."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.lease_owner == owner,
                OutboxMessage.state == PENDING,
                OutboxMessage.transport == transport,
            )
            .values(lease_until=until)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def release(self, owner: str, ids: Collection[int] | None = None) -> int:
        """Give back the pending rows `owner` holds (only `ids`, if given): they
        are claimable at once, and not counted as resumed."""
        query = update(OutboxMessage).where(
            OutboxMessage.lease_owner == owner, OutboxMessage.state == PENDING
        )
        if ids is not None:
            if not ids:
                return 0
            query = query.where(OutboxMessage.id.in_(list(ids)))
        result = await self.session.execute(query.values(**_NO_LEASE))
        return int(getattr(result, "rowcount", 0) or 0)

    async def lease_owners(self, now: datetime) -> list[str]:
        """Owners holding live leases on pending rows."""
        result = await self.session.scalars(
            select(OutboxMessage.lease_owner)
            .where(
                OutboxMessage.state == PENDING,
                OutboxMessage.lease_owner.is_not(None),
                OutboxMessage.lease_until > now,
            )
            .distinct()
        )
        return [owner for owner in result.all() if owner is not None]

    async def expire_leases(self, owners: Collection[str], now: datetime) -> int:
        """End the leases of owners known dead now (their owner stays written, so
        that the takeover is counted)."""
        if not owners:
            return 0
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.lease_owner.in_(list(owners)),
                OutboxMessage.state == PENDING,
                OutboxMessage.lease_until > now,
            )
            .values(lease_until=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

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
            .values(
                next_attempt_at=at,
                last_error=error[:500],
                attempts=OutboxMessage.attempts + 1,
                **_NO_LEASE,
            )
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
                **_NO_LEASE,
            )
        )

    async def pending_count(self, transport: str | None = None) -> int:
        query = select(func.count(OutboxMessage.id)).where(OutboxMessage.state == PENDING)
        if transport:
            query = query.where(OutboxMessage.transport == transport)
        return int(await self.session.scalar(query) or 0)

    async def next_due_at(self, transport: str) -> datetime | None:
        """When a pending row of `transport` is next claimable (rows leased to
        their holder count from their lease's end)."""
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
