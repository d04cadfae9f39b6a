"""The aiguilleurs' desk at run time: load views, call `dialogs.assignment.desk`,
carry out its effects. One unit of work per Matrix event (deduplicated on its
event id in `processed_updates`, transport "matrix"), per expired offer, and per
person's message (inside the Telegram runtime's own unit, via the `Desk` hooks).

Everything said goes into the outbox in the same transaction as the decision:
Matrix rows with a transaction id chosen now, Telegram rows to the person's chat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.coordination.router import AdminDesk
from bot.delivery import payloads
from bot.intake.case_views import answers_of
from bot.runtime.clock import Clock
from bot.transports.matrix.client import OwnEcho, RoomEvent, RoomFile, RoomReaction, RoomText
from bot.transports.matrix.files import is_catalog_file, is_catalog_name
from bot.transports.matrix.sender import TRANSPORT
from dialogs.assignment.commands import COMMANDS, PREFIX
from dialogs.assignment.desk import (
    ActorView,
    AssignmentView,
    CancelNudges,
    CaseView,
    DeskContext,
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
    contacts_shared,
    from_person,
    offer_lines,
    offer_or_queue,
    on_command,
    on_main_text,
    on_reaction,
    on_thread_text,
    on_timeout,
    person_ended,
)
from dialogs.assignment.relay import buttons as relay_buttons
from dialogs.catalog.matching.model import AiguilleurCandidate
from dialogs.coordination.commands import COMMANDS as COORDINATION_COMMANDS
from dialogs.kernel.commands import Domain, Misused, Parsed, Read, parse, split
from dialogs.kernel.context import RelayView
from dialogs.kernel.effects import EndRelay, RelayEffect, RelayToAiguilleur, ShareContacts
from dialogs.kernel.lifecycles import CaseStatus
from dialogs.kernel.render import render
from dialogs.kernel.replies import msg
from storage.db import Database, UnitOfWork
from storage.models.assignment import ACCEPTED, OFFERED, Assignment
from storage.models.core import Case, OutboxMessage
from storage.repos.inbox import DuplicateUpdate

log = logging.getLogger(__name__)

# Assignments (ids, comma-separated) whose person is told who helps them once
# the aiguilleur joins their room (a coordinator assigned them before that).
TELL_ON_JOIN = "tell_on_join"


def contact_link(transport: str, external_id: str) -> str:
    return f"tg://user?id={external_id}" if transport == "telegram" else external_id


class MatrixDesk:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        locale: str,
        offer_timeout: timedelta,
        coordinators_room: str = "",
    ) -> None:
        self.db = db
        self.clock = clock
        self.locale = locale
        self.offer_timeout = offer_timeout
        self.coordinators_room = coordinators_room
        # Wakes the outbox after a commit (set by the service).
        self.kick: Callable[[], None] = lambda: None
        # Coordination commands (set by the service).
        self.admin: AdminDesk | None = None
        # Has this user joined this room (the service answers from its sync)?
        # Only those who did are offered cases: an invitation is no answer.
        self.joined: Callable[[str, str], bool] = lambda room_id, user_id: True

    # -- views ---------------------------------------------------------------------

    async def actor(self, uow: UnitOfWork, matrix_id: str) -> ActorView | None:
        row = await uow.matrix.aiguilleur_by_matrix_id(matrix_id)
        return ActorView(id=row.id, name=row.name, available=row.available) if row else None

    async def name_of(self, uow: UnitOfWork, aiguilleur_id: str) -> str:
        row = await uow.catalog.aiguilleur(aiguilleur_id)
        return row.name if row is not None else aiguilleur_id

    async def case_view(self, uow: UnitOfWork, case: Case) -> CaseView:
        person = await uow.people.by_id(case.person_id) if case.person_id else None
        return CaseView(
            ref=case.ref,
            status=case.status,
            lieu_name=case.lieu_name,
            person_name=person.display_name if person else None,
            themes=tuple(case.themes or ()),
            region=case.region,
            answers=answers_of(case),
        )

    async def assignment_view(self, uow: UnitOfWork, row: Assignment, case: Case) -> AssignmentView:
        return AssignmentView(
            id=row.id,
            ref=case.ref,
            aiguilleur_id=row.aiguilleur_id,
            aiguilleur_name=await self.name_of(uow, row.aiguilleur_id),
            state=row.state,
            room_id=row.room_id,
            thread_root=row.offer_event_id,
            deadline=row.deadline,
            contacts_shared=row.contacts_shared,
        )

    async def case_of(self, uow: UnitOfWork, row: Assignment) -> Case:
        case = await uow.cases.by_id(row.case_id)
        assert case is not None  # the foreign key cascades
        return case

    # -- Matrix events -----------------------------------------------------------------

    async def handle(self, event: RoomEvent) -> bool:
        """False when the event was handled already (a replay after a restart)."""
        try:
            async with self.db.unit() as uow:
                await uow.inbox.claim(TRANSPORT, event.event_id, self.clock.now())
                command = await self.read(uow, event)
                if not await self.coordination(uow, event, command):
                    await self.apply(uow, await self.decide(uow, event, command))
        except DuplicateUpdate:
            return False
        self.kick()
        return True

    async def read(self, uow: UnitOfWork, event: RoomEvent) -> Read | None:
        """The one reading of a message (dialogs/kernel/commands.py), whose result
        decides the route: the coordinators' vocabulary first in their room and
        for a coordinator who is no aiguilleur (their ``!dossier``, ``!aide`` are
        the coordination's), the aiguilleurs' first anywhere else."""
        if not isinstance(event, RoomText) or split(event.body, PREFIX) is None:
            return None
        if self.admin is None:
            return parse(event.body, PREFIX, COMMANDS)
        coordination_first = (
            bool(self.coordinators_room) and event.room_id == self.coordinators_room
        ) or await self.coordinator_only(uow, event.sender)
        if coordination_first:
            return parse(event.body, PREFIX, COORDINATION_COMMANDS, COMMANDS)
        return parse(event.body, PREFIX, COMMANDS, COORDINATION_COMMANDS)

    async def coordination(self, uow: UnitOfWork, event: RoomEvent, command: Read | None) -> bool:
        """Coordination commands (bot/coordination/), as `read` routed them, and
        the next message of a pending coordination action. A file is only ever a
        coordination matter (a catalog to import), or nothing."""
        if isinstance(event, RoomFile):
            if self.admin is not None and event.thread_root is None and is_catalog_name(event.name):
                await self.admin.from_matrix_file(
                    uow,
                    room_id=event.room_id,
                    sender=event.sender,
                    name=event.name,
                    content=event.content,
                    locale=self.locale,
                    coordinators_room=event.room_id == self.coordinators_room,
                )
            return True
        if self.admin is None or not isinstance(event, RoomText):
            return False
        return await self.admin.from_matrix(
            uow,
            room_id=event.room_id,
            sender=event.sender,
            body=event.body,
            thread=event.thread_root,
            locale=self.locale,
            command=command,
            sender_name=event.sender_name,
        )

    async def coordinator_only(self, uow: UnitOfWork, sender: str) -> bool:
        if self.admin is None or not await self.admin.is_coordinator(uow, TRANSPORT, sender):
            return False
        return await uow.matrix.aiguilleur_by_matrix_id(sender) is None

    async def wants_file(self, event: RoomFile) -> bool:
        """Worth downloading: a small catalog file, outside a thread, from a
        coordinator (the router checks the role again in the event's unit)."""
        if self.admin is None or event.thread_root is not None or not is_catalog_file(event):
            return False
        async with self.db.unit() as uow:
            return await self.admin.is_coordinator(uow, "matrix", event.sender)

    async def echo(self, event: OwnEcho) -> None:
        """The bot's own message came back through sync: if it is an offer, its
        event id is the case's thread root (a 👍 may already be on its way)."""
        async with self.db.unit() as uow:
            await uow.assignments.set_offer_event_by_txn(
                event.txn_id, event.event_id, self.clock.now() + self.offer_timeout
            )

    async def decide(self, uow: UnitOfWork, event: RoomEvent, command: Read | None) -> Effects:
        actor = await self.actor(uow, event.sender)
        now = self.clock.now()
        if isinstance(event, RoomReaction):
            row = await uow.assignments.by_offer_event(event.target)
            if row is None:
                return ()
            case = await self.case_of(uow, row)
            ctx = DeskContext(
                now=now,
                room_id=event.room_id,
                thread_root=event.target,
                actor=actor,
                case=await self.case_view(uow, case),
                assignment=await self.assignment_view(uow, row, case),
                sender=event.sender,
            )
            return on_reaction(event.key, ctx)
        assert isinstance(event, RoomText)
        base = DeskContext(
            now=now,
            room_id=event.room_id,
            thread_root=event.thread_root,
            actor=actor,
            sender=event.sender,
        )
        if isinstance(command, Parsed | Misused) and command.domain != Domain.DESK:
            return ()  # the coordination's, answered by `coordination`
        if command is not None:
            effects = on_command(command, await self.command_context(uow, base, command))
            if (
                isinstance(command, Parsed)
                and command.name == "aide"
                and self.admin is not None
                and await self.admin.is_coordinator(uow, TRANSPORT, event.sender)
            ):
                # An aiguilleur who also coordinates: where the other help is.
                pointer = msg("desk.help.coordinator", command="!admin")
                where = ToRoom(room_id=event.room_id, thread_root=event.thread_root)
                effects = (*effects, Tell(to=where, lines=(pointer,)))
            return effects
        if event.thread_root is not None:
            row = await uow.assignments.by_offer_event(event.thread_root)
            if row is None:
                return ()  # a thread of its own, not a case's
            case = await self.case_of(uow, row)
            return on_thread_text(
                event.body,
                DeskContext(
                    now=now,
                    room_id=event.room_id,
                    thread_root=event.thread_root,
                    actor=actor,
                    case=await self.case_view(uow, case),
                    assignment=await self.assignment_view(uow, row, case),
                ),
            )
        if actor is not None and await uow.matrix.owner_of(event.room_id) == actor.id:
            return on_main_text(base)
        return ()

    async def command_context(
        self, uow: UnitOfWork, base: DeskContext, command: object
    ) -> DeskContext:
        if not isinstance(command, Parsed) or base.actor is None:
            return base
        if command.name == "mes-dossiers":
            mine = await uow.assignments.of_aiguilleur(base.actor.id)
            views = []
            for row, case in mine:
                views.append(
                    (await self.assignment_view(uow, row, case), await self.case_view(uow, case))
                )
            return DeskContext(
                now=base.now,
                room_id=base.room_id,
                thread_root=base.thread_root,
                actor=base.actor,
                mine=tuple(views),
                sender=base.sender,
            )
        if command.ref is None:
            return base
        named = await uow.cases.by_ref(command.ref)
        if named is None:
            return base
        held = await uow.assignments.open_for_case(named.id)
        return DeskContext(
            now=base.now,
            room_id=base.room_id,
            thread_root=base.thread_root,
            actor=base.actor,
            case=await self.case_view(uow, named),
            assignment=await self.assignment_view(uow, held, named) if held else None,
            sender=base.sender,
        )

    # -- time ------------------------------------------------------------------------

    async def tick(self) -> int:
        """Expire offers past their deadline (each in its own unit of work), then
        serve the queue. Returns how many offers expired."""
        now = self.clock.now()
        async with self.db.unit() as uow:
            due = await uow.assignments.expired_ids(now)
        expired = 0
        for assignment_id in [*due, *await self.left()]:
            async with self.db.unit() as uow:
                row = await uow.assignments.get(assignment_id)
                # Answered meanwhile (an accept won the race): nothing to do.
                if row is None or row.state != OFFERED:
                    continue
                if (row.deadline is None or row.deadline > now) and await self.in_room(uow, row):
                    continue
                case = await self.case_of(uow, row)
                await self.apply(uow, on_timeout(await self.assignment_view(uow, row, case)))
                expired += 1
        async with self.db.unit() as uow:
            await self.apply(uow, (Drain(),))
        self.kick()
        return expired

    async def left(self) -> list[int]:
        """Offers waiting for someone no longer in their room: they move on now
        rather than after the whole delay."""
        async with self.db.unit() as uow:
            rows = await uow.assignments.offered()
            return [row.id for row in rows if not await self.in_room(uow, row)]

    async def tell_on_join(self, uow: UnitOfWork, assignment_id: int, now: datetime) -> None:
        """Remember to tell the person who helps them once the aiguilleur, given
        the case by a coordinator before joining their room, joins it."""
        waiting = await self.waiting_joins(uow)
        if assignment_id not in waiting:
            await uow.matrix.set_value(
                TELL_ON_JOIN, ",".join(str(i) for i in (*waiting, assignment_id)), now
            )

    async def waiting_joins(self, uow: UnitOfWork) -> list[int]:
        stored = await uow.matrix.value(TELL_ON_JOIN) or ""
        return [int(part) for part in stored.split(",") if part.isdigit()]

    async def tell_joined(self, uow: UnitOfWork) -> int:
        """Someone joined a room: the people whose case waits for that aiguilleur
        hear who helps them, once; an assignment ended meanwhile is forgotten.
        Returns how many were told."""
        waiting = await self.waiting_joins(uow)
        if not waiting:
            return 0
        left: list[int] = []
        told = 0
        for assignment_id in waiting:
            row = await uow.assignments.get(assignment_id)
            if row is None or row.state != ACCEPTED:
                continue
            if not await self.in_room(uow, row):
                left.append(assignment_id)
                continue
            case = await self.case_of(uow, row)
            person = await uow.catalog.aiguilleur(row.aiguilleur_id)
            name = person.name if person is not None else row.aiguilleur_id
            view = RelayView(assignment_id=row.id, ref=case.ref, aiguilleur_name=name)
            told_now = Tell(
                to=ToPerson(ref=case.ref),
                lines=(msg("relay.accepted", name=name, ref=case.ref),),
                buttons=relay_buttons(view),
            )
            await self.apply_one(uow, told_now)
            told += 1
        await uow.matrix.set_value(TELL_ON_JOIN, ",".join(str(i) for i in left), self.clock.now())
        return told

    async def in_room(self, uow: UnitOfWork, row: Assignment) -> bool:
        person = await uow.catalog.aiguilleur(row.aiguilleur_id)
        return person is not None and self.joined(row.room_id, person.matrix_id)

    # -- the person's side (bot.runtime.core.Desk) --------------------------------------------

    async def relay_view(self, uow: UnitOfWork, person_id: int) -> RelayView | None:
        found = await uow.assignments.held_for_person(person_id)
        if found is None:
            return None
        row, case = found
        if not row.room_id:
            return None  # assigned without a Matrix room: nothing to relay to
        return RelayView(
            assignment_id=row.id,
            ref=case.ref,
            aiguilleur_name=await self.name_of(uow, row.aiguilleur_id),
            noted=row.person_noted,
            contacts_shared=row.contacts_shared,
        )

    async def relay(self, uow: UnitOfWork, effect: RelayEffect, person_id: int | None) -> None:
        row = await uow.assignments.get(effect.assignment_id)
        if row is None or row.state != ACCEPTED:
            return
        case = await self.case_of(uow, row)
        if person_id is None or case.person_id != person_id:
            return  # a forged or foreign button
        held = await self.assignment_view(uow, row, case)
        view = await self.case_view(uow, case)
        match effect:
            case RelayToAiguilleur(text=text):
                row.person_noted = True
                effects = from_person(held, view, text)
            case EndRelay():
                effects = person_ended(held, view)
            case ShareContacts():
                person = await uow.people.by_id(person_id)
                if person is None:
                    return
                effects = contacts_shared(
                    held, view, contact_link(person.transport, person.external_id)
                )
        await self.apply(uow, effects)

    async def contact_requested(self, uow: UnitOfWork, case: Case) -> None:
        await self.apply(uow, (FindAiguilleur(ref=case.ref),))

    async def on_sent(self, uow: UnitOfWork, row: OutboxMessage, external_id: str | None) -> None:
        """An offer is out: its event id becomes the case's thread root, and its
        deadline counts from now (after an outage, not from its creation)."""
        match payloads.from_row(row.payload):
            case payloads.Message(assignment=int(assignment)) if external_id:
                deadline = self.clock.now() + self.offer_timeout
                await uow.assignments.set_offer_event(assignment, external_id, deadline)
            case _:
                pass

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
            await self.case_view(uow, case),
            candidates,
            await uow.assignments.tried(case.id),
            await self.reachable(uow, candidates),
            await uow.assignments.is_waiting(case.id),
        )

    async def reachable(self, uow: UnitOfWork, candidates: list[AiguilleurCandidate]) -> set[str]:
        """Slugs of the aiguilleurs who joined their room with the bot."""
        rooms = await uow.matrix.rooms()
        return {
            c.profile.id
            for c in candidates
            if c.profile.id in rooms and self.joined(rooms[c.profile.id], c.profile.matrix_id)
        }

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
        if self.admin is not None and await self.admin.is_coordinator(uow, TRANSPORT, sender):
            role = "coordinator"
        elif await uow.matrix.aiguilleur_by_matrix_id(sender) is not None:
            role = "aiguilleur"
        else:
            role = "anyone"
        await uow.coordination.log_command(
            transport=TRANSPORT,
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
        # The deadline starts when the offer is posted (`on_sent`, `echo`): after
        # a homeserver outage the aiguilleur still gets the whole delay.
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
        lines = offer_lines(await self.case_view(uow, case), self.offer_timeout)
        payload = payloads.message(render(self.locale, lines).html, assignment=row.id)
        queued = await uow.outbox.enqueue(
            transport=TRANSPORT, address=room_id, payload=payload, now=now
        )
        row.offer_txn_id = str(queued.payload["txn_id"])
        log.info("case %s offered to %s", ref, aiguilleur_id)

    async def tell(self, uow: UnitOfWork, effect: Tell, now: datetime) -> None:
        match effect.to:
            case ToRoom(room_id=room_id, thread_root=root):
                html = render(self.locale, effect.lines).html
                payload = payloads.message(html, thread=root, relayed=effect.relayed)
                await uow.outbox.enqueue(
                    transport=TRANSPORT, address=room_id, payload=payload, now=now
                )
            case ToCoordinators():
                if not self.coordinators_room:
                    log.info("no coordinators room configured; message dropped")
                    return
                payload = payloads.message(render(self.locale, effect.lines).html)
                await uow.outbox.enqueue(
                    transport=TRANSPORT, address=self.coordinators_room, payload=payload, now=now
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


__all__ = ["MatrixDesk", "RelayView", "answers_of"]
