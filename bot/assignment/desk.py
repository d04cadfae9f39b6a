"""The aiguilleurs' desk on Matrix: each Matrix event in its own unit of work
(deduplicated on its event id in `processed_updates`, transport "matrix"),
routed to the coordination commands or to the pure desk
(`dialogs.assignment.desk`), whose decision `DeskExecutor` carries out.

The desk's other parts: `views.py` (what the pure desk looks at), `executor.py`
(its effects), `rooms.py` (who joined which room), `offers.py` (an offer's
deadline), `person.py` (the person's side, inside the Telegram runtime's unit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.assignment.executor import DeskExecutor
from bot.assignment.offers import Offers
from bot.assignment.views import actor_view, assignment_view, case_of, case_view
from bot.coordination.router import AdminDesk
from bot.runtime.clock import Clock
from bot.transports.matrix.client import RoomEvent, RoomFile, RoomReaction, RoomText
from bot.transports.matrix.files import is_catalog_file, is_catalog_name
from bot.transports.matrix.sender import TRANSPORT
from dialogs.assignment.commands import COMMANDS, PREFIX
from dialogs.assignment.desk import (
    DeskContext,
    Effects,
    Tell,
    ToRoom,
    on_command,
    on_main_text,
    on_reaction,
    on_thread_text,
)
from dialogs.coordination.commands import COMMANDS as COORDINATION_COMMANDS
from dialogs.kernel.commands import Domain, Misused, Parsed, Read, parse, split
from dialogs.kernel.replies import msg
from storage.db import Database, UnitOfWork
from storage.repos.inbox import DuplicateUpdate

log = logging.getLogger(__name__)


class MatrixDesk:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        executor: DeskExecutor,
        offers: Offers,
        *,
        admin: AdminDesk | None = None,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.executor = executor
        self.offers = offers
        # Coordination commands (None: aiguilleurs' commands only).
        self.admin = admin
        # Wakes the outbox after a commit.
        self.kick = kick
        self.locale = executor.locale
        self.coordinators_room = executor.coordinators_room

    # -- Matrix events -----------------------------------------------------------------

    async def handle(self, event: RoomEvent) -> bool:
        """False when the event was handled already (a replay after a restart)."""
        try:
            async with self.db.unit() as uow:
                await uow.inbox.claim(TRANSPORT, event.event_id, self.clock.now())
                command = await self.read(uow, event)
                if not await self.coordination(uow, event, command):
                    await self.executor.apply(uow, await self.decide(uow, event, command))
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

    async def decide(self, uow: UnitOfWork, event: RoomEvent, command: Read | None) -> Effects:
        actor = await actor_view(uow, event.sender)
        now = self.clock.now()
        if isinstance(event, RoomReaction):
            row = await uow.assignments.by_offer_event(event.target)
            if row is None:
                return ()
            case = await case_of(uow, row)
            ctx = DeskContext(
                now=now,
                room_id=event.room_id,
                thread_root=event.target,
                actor=actor,
                case=await case_view(uow, case),
                assignment=await assignment_view(uow, row, case),
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
            case = await case_of(uow, row)
            return on_thread_text(
                event.body,
                DeskContext(
                    now=now,
                    room_id=event.room_id,
                    thread_root=event.thread_root,
                    actor=actor,
                    case=await case_view(uow, case),
                    assignment=await assignment_view(uow, row, case),
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
                views.append((await assignment_view(uow, row, case), await case_view(uow, case)))
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
            case=await case_view(uow, named),
            assignment=await assignment_view(uow, held, named) if held else None,
            sender=base.sender,
        )

    # -- time ------------------------------------------------------------------------

    async def tick(self) -> int:
        """Offers past their deadline move on, then the queue is served; the
        outbox is woken. Returns how many offers expired."""
        expired = await self.offers.expire()
        self.kick()
        return expired
