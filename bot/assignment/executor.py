"""The desk's decisions carried out in a unit of work: the effects of
`dialogs.assignment.desk` (offers, the queue, assignment moves, the case's
timeline, what is said and to whom).

Everything said goes into the outbox in the same transaction as the decision:
Matrix rows with a transaction id chosen now, Telegram rows to the person's
chat. Whoever owns the unit of work wakes the outbox after its commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot.assignment.rooms import Rooms
from bot.assignment.views import case_view
from bot.coordination.roles import ConfiguredCoordinators, is_coordinator
from bot.delivery import payloads
from bot.runtime.clock import Clock
from dialogs.assignment.desk import (
    CancelNudges,
    DeskEffect,
    Drain,
    Effects,
    FindAiguilleur,
    MarkShared,
    Move,
    Note,
    Offer,
    Queue,
    Refused,
    SetAvailable,
    SetStatus,
    Tell,
    ToCoordinators,
    ToPerson,
    ToRoom,
    offer_lines,
    offer_or_queue,
)
from dialogs.kernel.lifecycles import CaseStatus
from dialogs.kernel.render import render
from storage.db import UnitOfWork
from storage.repos.outbox import MATRIX

log = logging.getLogger(__name__)


class DeskExecutor:
    def __init__(
        self,
        clock: Clock,
        rooms: Rooms,
        *,
        locale: str,
        offer_timeout: timedelta,
        coordinators_room: str = "",
        coordinators: ConfiguredCoordinators | None = None,
    ) -> None:
        self.clock = clock
        self.rooms = rooms
        self.locale = locale
        self.offer_timeout = offer_timeout
        # The coordinators' Matrix room ("" without one): who hears of waiting cases.
        self.coordinators_room = coordinators_room
        # Who is a coordinator, for the role noted with a refused command.
        self.coordinators = coordinators or ConfiguredCoordinators()

    # -- what coordination asks of the desk (bot.coordination.call.AssignmentDesk) ------

    def joined(self, room_id: str, user_id: str) -> bool:
        return self.rooms.joined(room_id, user_id)

    async def tell_on_join(self, uow: UnitOfWork, assignment_id: int, now: datetime) -> None:
        await self.rooms.tell_on_join(uow, assignment_id, now)

    async def tell_joined(self, uow: UnitOfWork) -> int:
        """Someone joined a room: the people whose case waited for that
        aiguilleur hear who helps them. Returns how many were told."""
        told = await self.rooms.joined_now(uow, self.clock.now())
        for effect in told:
            await self.apply_one(uow, effect)
        return len(told)

    # -- effects ---------------------------------------------------------------------

    async def apply(self, uow: UnitOfWork, effects: Effects) -> None:
        pending: list[DeskEffect] = list(effects)
        drain = False
        while pending:
            effect = pending.pop(0)
            match effect:
                case Drain():
                    drain = True  # once, after everything else
                case FindAiguilleur(ref=ref):
                    pending[0:0] = await self.find(uow, ref)
                case _:
                    await self.apply_one(uow, effect)
        if drain:
            await self.drain(uow)

    async def find(self, uow: UnitOfWork, ref: str) -> Effects:
        case = await uow.cases.by_ref(ref)
        if case is None or case.status == CaseStatus.CLOSED:
            return ()
        if await uow.assignments.open_for_case(case.id) is not None:
            return ()
        candidates = await uow.catalog.candidates()
        return offer_or_queue(
            await case_view(uow, case),
            candidates,
            await uow.assignments.tried(case.id),
            await self.rooms.reachable(uow, candidates),
            await uow.assignments.is_waiting(case.id),
        )

    async def drain(self, uow: UnitOfWork) -> None:
        for case in await uow.assignments.waiting():
            for effect in await self.find(uow, case.ref):
                await self.apply_one(uow, effect)

    async def apply_one(self, uow: UnitOfWork, effect: DeskEffect) -> None:
        now = self.clock.now()
        match effect:
            case Tell():
                await self.tell(uow, effect, now)
            case Offer(ref=ref, aiguilleur_id=aiguilleur_id):
                await self.offer(uow, ref, aiguilleur_id, now)
            case Queue(ref=ref):
                case = await uow.cases.by_ref(ref)
                if case is not None:
                    queued = await uow.assignments.enqueue(case.id, now)
                    if queued or case.status != CaseStatus.WAITING:
                        before = {"previous_status": case.status}
                        await uow.cases.move(
                            case,
                            CaseStatus.WAITING,
                            actor="bot",
                            kind="queued",
                            data=before,
                            now=now,
                        )
                    else:  # waiting already, and on the timeline
                        case.updated_at = now
                    log.info("case %s waits for an aiguilleur", ref)
            case Move(assignment_id=assignment_id, to=to, reason=reason):
                row = await uow.assignments.get(assignment_id)
                if row is not None:
                    await uow.assignments.move(row, to, now=now, reason=reason)
                    log.info("assignment %s → %s", assignment_id, to)
            case SetStatus(ref=ref, status=status, actor=actor, kind=kind):
                case = await uow.cases.by_ref(ref)
                if case is not None:
                    await uow.cases.move(case, status, actor=actor, kind=kind, now=now)
            case Note(ref=ref, actor=actor, kind=kind, text=text, size=size):
                case = await uow.cases.by_ref(ref)
                if case is not None:
                    data: dict[str, Any] = {"text": text} if text else {}
                    if size is not None:
                        data["length"] = size
                    await uow.cases.add_event(case, actor=actor, kind=kind, data=data, now=now)
            case SetAvailable(aiguilleur_id=aiguilleur_id, available=available):
                await uow.matrix.set_available(aiguilleur_id, available, now)
            case MarkShared(assignment_id=assignment_id):
                row = await uow.assignments.get(assignment_id)
                if row is not None:
                    row.contacts_shared = True
            case CancelNudges(ref=ref, reason=reason):
                case = await uow.cases.by_ref(ref)
                if case is not None:
                    cancelled = await uow.nudges.cancel_for_case(case.id, reason=reason, now=now)
                    log.info("case %s: %d nudges cancelled", ref, cancelled)
            case Refused(command=command, sender=sender, ref=ref):
                await self.log_refusal(uow, command, sender, ref, now)
            case _:
                raise AssertionError(f"not a single effect: {effect!r}")

    async def log_refusal(
        self, uow: UnitOfWork, command: str, sender: str, ref: str | None, now: datetime
    ) -> None:
        """An aiguilleurs' command refused: in `command_log`, like the refusals
        of coordination commands (bot/coordination/router.py)."""
        if await is_coordinator(uow, self.coordinators, MATRIX, sender):
            role = "coordinator"
        elif await uow.matrix.aiguilleur_by_matrix_id(sender) is not None:
            role = "aiguilleur"
        else:
            role = "anyone"
        await uow.coordination.log_command(
            transport=MATRIX,
            actor=sender,
            role=role,
            command=command,
            outcome="refused",
            case_ref=ref,
            now=now,
        )
        log.info("command %s by a %s: refused", command, role)

    async def offer(self, uow: UnitOfWork, ref: str, aiguilleur_id: str, now: datetime) -> None:
        case = await uow.cases.by_ref(ref)
        room_id = await uow.matrix.room_of(aiguilleur_id)
        if case is None or room_id is None:
            return
        # The deadline starts when the offer is posted (bot/assignment/offers.py):
        # after a homeserver outage the aiguilleur still gets the whole delay.
        row = await uow.assignments.offer(
            case=case, aiguilleur_id=aiguilleur_id, room_id=room_id, deadline=None, now=now
        )
        await uow.assignments.dequeue(case.id)
        await uow.catalog.mark_proposed([aiguilleur_id], now)
        await uow.cases.move(
            case,
            CaseStatus.PROPOSED,
            actor="bot",
            kind="offered",
            data={"aiguilleur": aiguilleur_id},
            now=now,
        )
        lines = offer_lines(await case_view(uow, case), self.offer_timeout)
        payload = payloads.message(render(self.locale, lines).html, assignment=row.id)
        queued = await uow.outbox.enqueue(
            transport=MATRIX, address=room_id, payload=payload, now=now
        )
        row.offer_txn_id = str(queued.payload["txn_id"])
        log.info("case %s offered to %s", ref, aiguilleur_id)

    async def tell(self, uow: UnitOfWork, effect: Tell, now: datetime) -> None:
        match effect.to:
            case ToRoom(room_id=room_id, thread_root=root):
                html = render(self.locale, effect.lines).html
                payload = payloads.message(html, thread=root, relayed=effect.relayed)
                await uow.outbox.enqueue(
                    transport=MATRIX, address=room_id, payload=payload, now=now
                )
            case ToCoordinators():
                if not self.coordinators_room:
                    log.info("no coordinators room configured; message dropped")
                    return
                payload = payloads.message(render(self.locale, effect.lines).html)
                await uow.outbox.enqueue(
                    transport=MATRIX, address=self.coordinators_room, payload=payload, now=now
                )
            case ToPerson(ref=ref):
                case = await uow.cases.by_ref(ref)
                person = await uow.people.by_id(case.person_id) if case and case.person_id else None
                chat = await uow.assignments.person_chat(person.id) if person else None
                if person is None or chat is None:
                    log.info("case %s has nobody to tell (conversation forgotten)", ref)
                    return
                shown = render(person.locale, effect.lines, effect.buttons)
                await uow.outbox.enqueue(
                    transport=chat.transport,
                    address=chat.address,
                    payload=payloads.message(shown),
                    now=now,
                )
