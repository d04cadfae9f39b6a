"""An offer's clock: its deadline counts from when it is posted (the outbox's
send, or the bot's own message coming back through sync, whichever comes
first), and the offers past their deadline, or whose aiguilleur left their
room, move on."""

from __future__ import annotations

from bot.assignment.executor import DeskExecutor
from bot.assignment.views import assignment_view, case_of
from bot.delivery import payloads
from bot.runtime.clock import Clock
from dialogs.assignment.desk import Drain, on_timeout
from storage.db import Database, UnitOfWork
from storage.models.assignment import OFFERED
from storage.repos.outbox import ClaimedRow


class Offers:
    def __init__(self, db: Database, clock: Clock, executor: DeskExecutor) -> None:
        self.db = db
        self.clock = clock
        self.executor = executor

    async def posted(self, uow: UnitOfWork, row: ClaimedRow, external_id: str | None) -> None:
        """The outbox's hook on a Matrix send (bot.delivery.outbox.SentHook): an
        offer is out, its event id becomes the case's thread root, and its
        deadline counts from now (after an outage, not from its creation)."""
        match payloads.from_row(row.payload):
            case payloads.Message(assignment=int(assignment)) if external_id:
                deadline = self.clock.now() + self.executor.offer_timeout
                await uow.assignments.set_offer_event(assignment, external_id, deadline)
            case _:
                pass

    async def echo(self, txn_id: str, event_id: str) -> None:
        """The bot's own message came back through sync: if it is an offer, its
        event id is the case's thread root (a 👍 may already be on its way)."""
        async with self.db.unit() as uow:
            await uow.assignments.set_offer_event_by_txn(
                txn_id, event_id, self.clock.now() + self.executor.offer_timeout
            )

    async def expire(self) -> int:
        """Expire offers past their deadline (each in its own unit of work), then
        serve the queue. Returns how many offers expired."""
        now = self.clock.now()
        async with self.db.unit() as uow:
            due = await uow.assignments.expired_ids(now)
        expired = 0
        rooms = self.executor.rooms
        for assignment_id in [*due, *await self.left()]:
            async with self.db.unit() as uow:
                row = await uow.assignments.get(assignment_id)
                # Answered meanwhile (an accept won the race): nothing to do.
                if row is None or row.state != OFFERED:
                    continue
                if (row.deadline is None or row.deadline > now) and await rooms.in_room(uow, row):
                    continue
                case = await case_of(uow, row)
                await self.executor.apply(uow, on_timeout(await assignment_view(uow, row, case)))
                expired += 1
        async with self.db.unit() as uow:
            await self.executor.apply(uow, (Drain(),))
        return expired

    async def left(self) -> list[int]:
        """Offers waiting for someone no longer in their room: they move on now
        rather than after the whole delay."""
        async with self.db.unit() as uow:
            rows = await uow.assignments.offered()
            return [row.id for row in rows if not await self.executor.rooms.in_room(uow, row)]
