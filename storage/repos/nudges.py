"""Follow-up nudges: scheduling, claiming due rows, answers, and what coordinators
need (list, postpone, cancel). Like every repository, it never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.models.followup import CaseFlag, Nudge
from storage.session import DbSession, adopt, table_of

PENDING = "pending"
SENT = "sent"
ANSWERED = "answered"
ESCALATED = "escalated"
CANCELLED = "cancelled"
# Asked, but Telegram refused it (403: the person blocked the bot). Asked again
# when the person writes to the bot again.
BLOCKED = "blocked"
BLOCKED_REASON = "blocked"
# Rows the worker has something to do with once `due_at` passes.
ACTIVE = (PENDING, SENT)
# Rows whose buttons or typed answers are still expected.
OPEN = (SENT, ESCALATED)


# Built once: the runtime asks one of these for every text or nudge button.
_OF_CHAT = select(Nudge).where(
    Nudge.id == bindparam("nudge_id"),
    Nudge.transport == bindparam("transport"),
    Nudge.address == bindparam("address"),
)
_AWAITING_TEXT_WHERE = (
    Nudge.transport == bindparam("transport"),
    Nudge.address == bindparam("address"),
    (Nudge.state.in_(OPEN)) | (Nudge.impact_step.is_not(None)),
)
_AWAITING_TEXT = (
    select(Nudge)
    .where(*_AWAITING_TEXT_WHERE)
    .order_by(Nudge.sent_at.desc(), Nudge.id.desc())
    .limit(1)
)
_BLOCKED_WHERE = (
    Nudge.transport == bindparam("transport"),
    Nudge.address == bindparam("address"),
    (Nudge.state == BLOCKED)
    | ((Nudge.state == CANCELLED) & (Nudge.cancel_reason == BLOCKED_REASON)),
)
_PENDING_KIND = (
    select(Nudge.id)
    .where(
        Nudge.case_id == bindparam("case_id"),
        Nudge.state == PENDING,
        Nudge.kind == bindparam("kind"),
    )
    .limit(1)
)
# Whether `blocked_of_chat` and `awaiting_text` can find one: asked at every message a
# person sends, the chat's row carries them (storage/repos/conversations.py). Core
# columns, not ORM ones: one ORM column turns the row's statement into an ORM
# statement, which cost ~30 µs more per update for each of them.
_NUDGES = table_of(Nudge)
_CHAT = (
    _NUDGES.c.transport == bindparam("transport"),
    _NUDGES.c.address == bindparam("address"),
)
ANY_BLOCKED = (
    select(_NUDGES.c.id)
    .where(
        *_CHAT,
        (_NUDGES.c.state == BLOCKED)
        | ((_NUDGES.c.state == CANCELLED) & (_NUDGES.c.cancel_reason == BLOCKED_REASON)),
    )
    .limit(1)
)
ANY_AWAITING_TEXT = (
    select(_NUDGES.c.id)
    # Equalities, not IN: an IN list is expanded at each execution (~15 µs).
    .where(
        *_CHAT,
        or_(*(_NUDGES.c.state == state for state in OPEN), _NUDGES.c.impact_step.is_not(None)),
    )
    .limit(1)
)
# A case's nudges in one statement (the ORM flushed them one INSERT each). RETURNING
# gives no order, but one multi-row INSERT numbers its rows in the order of its VALUES
# (SQLite's rowid, PostgreSQL's sequence), so the ids sorted are the rows' in order.
# (`sort_by_parameter_order` would split it into one INSERT per row on SQLite.)
_INSERT = insert(_NUDGES).returning(_NUDGES.c.id)
_BLOCKED_OF_CHAT = select(Nudge).where(*_BLOCKED_WHERE).order_by(Nudge.case_id, Nudge.id)


class NudgesRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    # -- scheduling -------------------------------------------------------------

    async def schedule(
        self,
        *,
        case_id: int,
        transport: str,
        address: str,
        locale: str,
        steps: Iterable[tuple[str, datetime]],
        now: datetime,
    ) -> list[Nudge]:
        values = [
            {
                "case_id": case_id,
                "kind": kind,
                "transport": transport,
                "address": address,
                "locale": locale,
                "state": PENDING,
                "due_at": due,
                "attempts": 0,
                "deferrals": 0,
                "sent_at": None,
                "answered_at": None,
                "answer": None,
                "answer_text": None,
                "impact_step": None,
                "escalated_at": None,
                "cancel_reason": None,
                "created_at": now,
                "updated_at": now,
            }
            for kind, due in steps
        ]
        if not values:
            return []
        # The case's pending changes first, as when the nudges were flushed with them.
        await self.session.flush()
        ids = sorted((await self.session.scalars(_INSERT, values)).all())
        return [
            adopt(self.session, Nudge, {"id": i, **v}) for i, v in zip(ids, values, strict=True)
        ]

    async def claim_due(self, now: datetime) -> Nudge | None:
        """The most overdue row needing action, locked until commit. On PostgreSQL
        other workers skip it (SKIP LOCKED) instead of waiting, and see it no more
        once its new state is committed; SQLite serialises writers anyway."""
        return await self.session.scalar(
            select(Nudge)
            .where(Nudge.state.in_(ACTIVE), Nudge.due_at <= now)
            .order_by(Nudge.due_at, Nudge.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )

    async def overdue(self, before: datetime, limit: int) -> Sequence[Nudge]:
        """Pending rows due before `before` (late beyond tolerance: downtime)."""
        result = await self.session.scalars(
            select(Nudge)
            .where(Nudge.state == PENDING, Nudge.due_at < before)
            .order_by(Nudge.due_at, Nudge.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return result.all()

    async def overdue_of_cases(self, case_ids: Iterable[int], before: datetime) -> Sequence[Nudge]:
        result = await self.session.scalars(
            select(Nudge)
            .where(Nudge.state == PENDING, Nudge.due_at < before, Nudge.case_id.in_(case_ids))
            .order_by(Nudge.due_at, Nudge.id)
            .with_for_update(skip_locked=True)
        )
        return result.all()

    async def retime(self, plan: Iterable[tuple[int, datetime]], now: datetime) -> None:
        values = [{"id": nudge_id, "due_at": due, "updated_at": now} for nudge_id, due in plan]
        if values:
            await self.session.execute(update(Nudge), values)

    async def next_due_at(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(Nudge.due_at)).where(Nudge.state.in_(ACTIVE))
        )

    # -- one nudge --------------------------------------------------------------

    async def get(self, nudge_id: int) -> Nudge | None:
        return await self.session.get(Nudge, nudge_id)

    async def of_chat(self, nudge_id: int, transport: str, address: str) -> Nudge | None:
        """The nudge a button names, only if it was sent to this very chat."""
        return await self.session.scalar(
            _OF_CHAT, {"nudge_id": nudge_id, "transport": transport, "address": address}
        )

    async def awaiting_text(self, transport: str, address: str) -> Nudge | None:
        """The latest nudge of this chat that typed text should answer: sent and
        unanswered, or in the middle of its impact questions."""
        return await self.session.scalar(
            _AWAITING_TEXT, {"transport": transport, "address": address}
        )

    async def _set(self, nudge_id: int, now: datetime, **values: Any) -> None:
        await self.session.execute(
            update(Nudge).where(Nudge.id == nudge_id).values(updated_at=now, **values)
        )

    async def mark_sent(self, nudge_id: int, *, now: datetime, escalate_at: datetime) -> None:
        await self._set(
            nudge_id, now, state=SENT, sent_at=now, due_at=escalate_at, attempts=Nudge.attempts + 1
        )

    async def defer(self, nudge_id: int, *, until: datetime, now: datetime) -> None:
        await self._set(nudge_id, now, due_at=until, deferrals=Nudge.deferrals + 1)

    async def stop_waiting(self, nudge_id: int, *, now: datetime) -> None:
        """A question asked whose silence no longer matters (case verified)."""
        await self._set(nudge_id, now, due_at=None)

    async def bump_attempts(self, nudge_id: int, *, now: datetime) -> None:
        await self._set(nudge_id, now, attempts=Nudge.attempts + 1)

    async def mark_escalated(self, nudge_id: int, *, now: datetime) -> None:
        """Silence was reported: the row stays answerable but is due no more."""
        await self.session.execute(
            update(Nudge)
            .where(Nudge.id == nudge_id, Nudge.state == SENT)
            .values(state=ESCALATED, due_at=None, updated_at=now)
        )
        await self._set(nudge_id, now, escalated_at=now)

    async def answer(self, nudge_id: int, *, answer: str, text: str | None, now: datetime) -> None:
        await self._set(
            nudge_id,
            now,
            state=ANSWERED,
            due_at=None,
            answer=answer,
            answer_text=text,
            answered_at=now,
        )

    async def set_impact_step(self, nudge_id: int, step: str | None, *, now: datetime) -> None:
        await self._set(nudge_id, now, impact_step=step)

    # -- what coordinators do (issue 6 exposes these as commands) ----------------

    async def case_ids_of_chat(self, transport: str, address: str) -> Sequence[int]:
        """Cases followed up in one chat (to flag them when the person blocks us)."""
        result = await self.session.scalars(
            select(Nudge.case_id)
            .where(Nudge.transport == transport, Nudge.address == address)
            .distinct()
            # Oldest case first, on PostgreSQL too (its DISTINCT hashes, in no set order): the
            # coordinators' alert lists the refs in this order and is sent to the first's région.
            .order_by(Nudge.case_id)
        )
        return result.all()

    async def list_for_case(self, case_id: int) -> Sequence[Nudge]:
        """A case's nudges by due date: when asked for those asked, else when due
        (a snoozed copy, created later, comes before the questions it pushed back)."""
        when = func.coalesce(Nudge.sent_at, Nudge.due_at, Nudge.created_at)
        result = await self.session.scalars(
            select(Nudge).where(Nudge.case_id == case_id).order_by(when, Nudge.id)
        )
        return result.all()

    async def list_pending(self, limit: int = 100) -> Sequence[Nudge]:
        result = await self.session.scalars(
            select(Nudge)
            .where(Nudge.state == PENDING)
            .order_by(Nudge.due_at, Nudge.id)
            .limit(limit)
        )
        return result.all()

    async def has_pending(self, case_id: int, kind: str) -> bool:
        """Whether a nudge of this kind is still planned for the case."""
        found = await self.session.scalar(_PENDING_KIND, {"case_id": case_id, "kind": kind})
        return found is not None

    async def pending_of_case(self, case_id: int) -> Sequence[Nudge]:
        result = await self.session.scalars(
            select(Nudge)
            .where(Nudge.case_id == case_id, Nudge.state == PENDING)
            .order_by(Nudge.due_at, Nudge.id)
        )
        return result.all()

    async def postpone(self, nudge_id: int, *, until: datetime, now: datetime) -> bool:
        """Move a pending nudge; False when it is not pending any more."""
        result = await self.session.execute(
            update(Nudge)
            .where(Nudge.id == nudge_id, Nudge.state == PENDING)
            .values(due_at=until, updated_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def cancel(self, nudge_id: int, *, reason: str, now: datetime) -> bool:
        """A pending nudge will not be asked. Its `due_at` stays, for the listing
        (the worker only claims pending or sent rows)."""
        result = await self.session.execute(
            update(Nudge)
            .where(Nudge.id == nudge_id, Nudge.state == PENDING)
            .values(state=CANCELLED, cancel_reason=reason[:32], updated_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def cancel_for_case(
        self, case_id: int, *, reason: str, now: datetime, keep: Sequence[str] = ()
    ) -> int:
        """Stop the follow-up of a case (verified, closed, unreachable), except
        the pending nudges of the kinds in `keep`. Questions already asked stay
        answerable; their silence is no longer escalated."""
        result = await self.session.execute(
            update(Nudge)
            .where(Nudge.case_id == case_id, Nudge.state == PENDING, Nudge.kind.not_in(keep))
            .values(state=CANCELLED, cancel_reason=reason[:32], updated_at=now)
        )
        await self.session.execute(
            update(Nudge)
            .where(Nudge.case_id == case_id, Nudge.state == SENT)
            .values(due_at=None, updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def due_count(self, now: datetime) -> int:
        """Pending nudges whose time has come (a backlog means the worker lags)."""
        query = select(func.count(Nudge.id)).where(Nudge.state == PENDING, Nudge.due_at <= now)
        return int(await self.session.scalar(query) or 0)

    async def count(self, state: str | None = None) -> int:
        query = select(func.count(Nudge.id))
        if state is not None:
            query = query.where(Nudge.state == state)
        return int(await self.session.scalar(query) or 0)

    async def last_asked_of_case(self, case_id: int) -> Nudge | None:
        """The case's latest question put to the person: where to reach them."""
        return await self.session.scalar(
            select(Nudge)
            .where(Nudge.case_id == case_id, Nudge.sent_at.is_not(None))
            .order_by(Nudge.sent_at.desc(), Nudge.id.desc())
            .limit(1)
        )

    # -- a person who blocked the bot -------------------------------------------

    async def mark_blocked(self, nudge_ids: Iterable[int], *, now: datetime) -> list[Nudge]:
        """Nudges whose question Telegram refused (403): not sent after all.
        Only rows still waiting for an answer change; returns them."""
        ids = list(nudge_ids)
        if not ids:
            return []
        rows = list(
            (
                await self.session.scalars(
                    select(Nudge)
                    .where(Nudge.id.in_(ids), Nudge.state.in_(OPEN), Nudge.answer.is_(None))
                    .order_by(Nudge.id)
                )
            ).all()
        )
        for row in rows:
            row.state = BLOCKED
            row.due_at = None
            row.updated_at = now
        await self.session.flush()
        return rows

    async def any_blocked(self, transport: str, address: str) -> bool:
        """Whether this chat's follow-up was stopped because the person blocked
        the bot (one prebuilt, indexed query, for a chat without a row: the row
        carries the answer)."""
        found = await self.session.scalar(ANY_BLOCKED, {"transport": transport, "address": address})
        return found is not None

    async def blocked_of_chat(self, transport: str, address: str) -> Sequence[Nudge]:
        """This chat's nudges stopped because the person blocked the bot: refused
        ones and pending ones cancelled for it (asked again if the person writes)."""
        result = await self.session.scalars(
            _BLOCKED_OF_CHAT, {"transport": transport, "address": address}
        )
        return result.all()

    async def resume(self, plan: Iterable[tuple[int, datetime]], *, now: datetime) -> None:
        """Blocked or blocked-cancelled rows pending again, at the planned times."""
        for nudge_id, due in plan:
            await self._set(nudge_id, now, state=PENDING, due_at=due, cancel_reason=None)

    async def unflag_case(self, case_id: int, flag: str) -> bool:
        result = await self.session.execute(
            delete(CaseFlag).where(CaseFlag.case_id == case_id, CaseFlag.flag == flag)
        )
        return bool(getattr(result, "rowcount", 0))

    # -- case flags ---------------------------------------------------------------

    async def flag_case(
        self, case_id: int, flag: str, *, now: datetime, data: dict[str, Any] | None = None
    ) -> bool:
        """Set a flag; False when it was set already. A savepoint keeps the unit
        of work usable after the duplicate insert."""
        try:
            async with self.session.begin_nested():
                self.session.add(CaseFlag(case_id=case_id, flag=flag, set_at=now, data=data or {}))
        except IntegrityError:
            return False
        return True

    async def flags_of(self, case_id: int) -> set[str]:
        result = await self.session.scalars(
            select(CaseFlag.flag).where(CaseFlag.case_id == case_id)
        )
        return set(result.all())
