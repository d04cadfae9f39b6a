"""Coordination commands from both transports, in the unit of work of the
message that carries them (deduplicated like any other update).

Telegram: a command is read once against the persons' and the coordinators'
vocabularies (dialogs/kernel/commands.py; the person's come first); a
coordination command (``/dossiers``) is answered here; any other command, text
or button goes to the person's conversation — unless this person has a pending
coordination action in this chat (a form, a confirmation), whose next message
is theirs.
Matrix: the desk (bot/assignment/desk.py) reads the message once, in the order
of the place (the coordinators' vocabulary first in their room), and hands a
coordination command here already read. A catalog file sent in a room (fetched
by bot/transports/matrix/files.py) goes to the same handler as on Telegram.

Every command is logged with its outcome (refusals included). A handler that
fails is rolled back to a savepoint: the person gets an apology, the update
still counts as handled, nothing half-done stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import bot.coordination.handlers  # noqa: F401  (registers the handlers)
from bot.coordination import contact_requests
from bot.coordination.call import BUTTON_PREFIX, MISUSED, AdminCall, Services
from bot.coordination.registry import CONTINUATIONS, HANDLERS, Handler
from bot.coordination.roles import ConfiguredCoordinators, is_coordinator, resolve_actor
from bot.runtime.clock import Clock
from dialogs.coordination.access import Actor
from dialogs.coordination.commands import COMMANDS
from dialogs.intake.commands import COMMANDS as PERSON_COMMANDS
from dialogs.kernel.commands import (
    Domain,
    Misused,
    Parsed,
    Read,
    Role,
    Unknown,
    allowed,
    misused_lines,
    parse_command,
)
from dialogs.kernel.events import Attachment, AttachmentKind, Choice, Command, Event, Text
from dialogs.kernel.i18n import supported
from dialogs.kernel.render import render_msg
from dialogs.kernel.replies import Msg, msg
from storage.db import UnitOfWork
from storage.models.coordination import PendingAction
from storage.models.core import Case

log = logging.getLogger(__name__)

# Handler of a catalog file (YAML or CSV) a coordinator sends to the bot.
CATALOG_UPLOAD = "catalogue.fichier"
# What abandons a pending action: the person's /annuler on Telegram, !annuler on Matrix.
CANCEL = "annuler"


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminAnswer:
    """What the Telegram runtime returns when the update was a coordination one."""

    toast: str | None = None
    queued: int = 0


class AdminDesk:
    def __init__(
        self,
        clock: Clock,
        services: Services | None = None,
        configured: ConfiguredCoordinators | None = None,
    ) -> None:
        self.clock = clock
        self.services = services or Services()
        self.configured = configured or ConfiguredCoordinators.of(self.services.coordinators)

    # -- Telegram (and the console) ----------------------------------------------------

    async def from_chat(
        self,
        uow: UnitOfWork,
        *,
        transport: str,
        address: str,
        sender_id: str,
        sender_name: str | None,
        locale_hint: str | None,
        event: Event,
        source_message: str | None = None,
    ) -> AdminAnswer | None:
        """None when the update is not a coordination matter."""
        now = self.clock.now()
        if isinstance(event, Choice) and event.data.startswith(contact_requests.PREFIX):
            return await self.contact_press(
                uow, transport, address, sender_id, sender_name, locale_hint, event, source_message
            )
        pending = await uow.coordination.pending(transport, address, sender_id, now)
        parsed: Parsed | Misused | None = None
        match event:
            case Command(name=name, args=args):
                # The one reading of a command typed in a chat: the person's
                # vocabulary first (``/aide`` is theirs), then the coordinators'.
                read = parse_command(name, args, PERSON_COMMANDS, COMMANDS)
                if isinstance(read, Parsed | Misused) and read.domain == Domain.COORDINATION:
                    parsed = read
                elif not (pending is not None and is_cancel(read)):
                    return None  # the person's (or unknown: the conversation says so)
            case Choice(data=data) if data.startswith(BUTTON_PREFIX):
                if pending is None or not data.startswith(f"{BUTTON_PREFIX}{pending.version}:"):
                    locale = supported(locale_hint)
                    return AdminAnswer(toast=render_msg(locale, msg("button.stale")))
            case Attachment(kind=AttachmentKind.DOCUMENT) if pending is None:
                if CATALOG_UPLOAD not in HANDLERS:
                    return None
            case Text() | Choice() | Attachment():
                if pending is None:
                    return None
            case _:
                return None
        actor = await resolve_actor(uow, self.configured, transport, sender_id, sender_name)
        if isinstance(event, Attachment) and pending is None and actor.role != Role.COORDINATOR:
            return None  # a person's file: the conversation says what it can't read
        call = AdminCall(
            uow=uow,
            actor=actor,
            now=now,
            locale=supported(locale_hint),
            prefix="/",
            transport=transport,
            address=address,
            services=self.services,
            pending=pending,
            event=event,
            source_message=source_message,
        )
        if isinstance(event, Command) and parsed is None:
            await call.finish()
            await call.say(msg("admin.pending.cancelled"))
        elif parsed is not None:
            await self.command(call, parsed)
        elif pending is not None:
            await self.run(call, CONTINUATIONS.get(pending.kind), pending.kind)
        else:
            await self.run(call, HANDLERS.get(CATALOG_UPLOAD), CATALOG_UPLOAD)
        return AdminAnswer(queued=call.queued)

    # -- contact requests without Matrix (bot/coordination/contact_requests.py) ----------------

    async def contact_recipients(self, uow: UnitOfWork, case: Case) -> list[str]:
        return await contact_requests.recipients(uow, self.configured, case)

    async def contact_requested(self, uow: UnitOfWork, case: Case) -> bool:
        """The request sent to the coordinators on Telegram; False: nobody to send it to."""
        told = await contact_requests.notify(
            uow, self.configured, self.services.coordinators, case, self.clock.now()
        )
        return told > 0

    async def contact_press(
        self,
        uow: UnitOfWork,
        transport: str,
        address: str,
        sender_id: str,
        sender_name: str | None,
        locale_hint: str | None,
        event: Choice,
        source_message: str | None,
    ) -> AdminAnswer:
        actor = await resolve_actor(uow, self.configured, transport, sender_id, sender_name)
        call = AdminCall(
            uow=uow,
            actor=actor,
            now=self.clock.now(),
            locale=supported(locale_hint),
            prefix="/",
            transport=transport,
            address=address,
            services=self.services,
            event=event,
            source_message=source_message,
        )

        async def press(call: AdminCall) -> None:
            await contact_requests.on_press(call, event.data)

        await self.run(call, press, "assigner")
        await self.log(call, "assigner")  # a press, not a parsed command: `run` does not
        return AdminAnswer(queued=call.queued)

    # -- Matrix --------------------------------------------------------------------------

    async def from_matrix(
        self,
        uow: UnitOfWork,
        *,
        room_id: str,
        sender: str,
        body: str,
        thread: str | None,
        locale: str,
        command: Read | None,
        sender_name: str | None = None,
    ) -> bool:
        """True when the message was a coordination matter: a coordination
        command (`command`, as the desk read it), or the next message of a
        pending action (a form, a confirmation) typed in the room's timeline."""
        now = self.clock.now()
        pending = await uow.coordination.pending("matrix", room_id, sender, now)
        if thread is not None:
            # Forms are answered in the room's timeline; a thread is a case's
            # conversation with the person (its messages are relayed, not read here).
            pending = None
        parsed: Parsed | Misused | None = None
        if isinstance(command, Parsed | Misused):
            if command.domain != Domain.COORDINATION:
                return False  # the aiguilleurs' command: the desk's
            parsed = command
        elif pending is None:
            return False
        actor = await resolve_actor(uow, self.configured, "matrix", sender, sender_name)
        call = AdminCall(
            uow=uow,
            actor=actor,
            now=now,
            locale=locale,
            prefix="!",
            transport="matrix",
            address=room_id,
            services=self.services,
            pending=pending,
            event=Text(text=body),
            thread=thread,
        )
        if parsed is not None:
            await self.command(call, parsed)
        elif pending is not None:
            if is_cancel(command):
                await call.finish()
                await call.say(msg("admin.pending.cancelled"))
            else:
                await self.run(call, CONTINUATIONS.get(pending.kind), pending.kind)
        return True

    async def from_matrix_file(
        self,
        uow: UnitOfWork,
        *,
        room_id: str,
        sender: str,
        name: str,
        content: bytes | None,
        locale: str,
        coordinators_room: bool = False,
    ) -> bool:
        """A catalog file (by its name) sent in a room: the same handler and
        confirmation as on Telegram. `content` is None when the transport did not
        fetch it (too large, unreadable). True when something was answered."""
        now = self.clock.now()
        pending = await uow.coordination.pending("matrix", room_id, sender, now)
        actor = await resolve_actor(uow, self.configured, "matrix", sender)
        if pending is None and actor.role != Role.COORDINATOR:
            if not coordinators_room:
                return False  # someone's file in their own room: not ours to read
            call = self.matrix_call(uow, actor, room_id, locale, None, None)
            await call.say(msg("admin.catalog.file.coordinators_only"))
            return True
        event = Attachment(kind=AttachmentKind.DOCUMENT, name=name, content=content)
        call = self.matrix_call(uow, actor, room_id, locale, pending, event)
        if pending is not None:
            await self.run(call, CONTINUATIONS.get(pending.kind), pending.kind)
        else:
            await self.run(call, HANDLERS.get(CATALOG_UPLOAD), CATALOG_UPLOAD)
        return True

    def matrix_call(
        self,
        uow: UnitOfWork,
        actor: Actor,
        room_id: str,
        locale: str,
        pending: PendingAction | None,
        event: Event | None,
    ) -> AdminCall:
        return AdminCall(
            uow=uow,
            actor=actor,
            now=self.clock.now(),
            locale=locale,
            prefix="!",
            transport="matrix",
            address=room_id,
            services=self.services,
            pending=pending,
            event=event,
        )

    async def is_coordinator(self, uow: UnitOfWork, transport: str, external_id: str) -> bool:
        return await is_coordinator(uow, self.configured, transport, external_id)

    # -- commands ------------------------------------------------------------------------

    async def command(self, call: AdminCall, parsed: Parsed | Misused) -> None:
        spec = parsed.spec
        if not allowed(spec, call.actor.role):
            await call.refuse(refusal(call.actor, spec.role))
            await self.log(call, spec.name)
            return
        if isinstance(parsed, Misused):
            call.outcome = MISUSED
            await call.say(*misused_lines(parsed, call.prefix))
            await self.log(call, spec.name)
            return
        call.parsed = parsed
        call.case_ref = parsed.ref
        await self.run(call, HANDLERS.get(spec.name), spec.name)

    async def run(self, call: AdminCall, handler: Handler | None, name: str) -> None:
        if handler is None:
            # A continuation whose kind this version no longer knows.
            await call.finish()
            await call.say(msg("admin.pending.cancelled"))
            return
        savepoint = await call.uow.session.begin_nested()
        try:
            await handler(call)
            await savepoint.commit()
        except Exception:
            await savepoint.rollback()
            log.exception("coordination command %s failed", name)
            call.outcome = "error"
            call.queued = 0
            await call.say(msg("admin.error"))
        if call.parsed is not None:
            await self.log(call, name)

    async def log(self, call: AdminCall, name: str) -> None:
        await call.uow.coordination.log_command(
            transport=call.transport,
            actor=call.actor.external_id,
            role=call.actor.role.value,
            command=name,
            outcome=call.outcome,
            case_ref=call.case_ref,
            now=call.now,
        )
        log.info("command %s by a %s: %s", name, call.actor.role.value, call.outcome)


def is_cancel(command: Read | None) -> bool:
    """``/annuler``, ``!cancel``…: the person's word for giving up (on Matrix, where
    persons' commands are not read, the word no vocabulary there knows)."""
    cancel = PERSON_COMMANDS[CANCEL]
    match command:
        case Parsed(spec=spec):
            return spec is cancel
        case Unknown(word=word):
            return PERSON_COMMANDS.find(word) is cancel
    return False


def refusal(actor: Actor, needed: Role) -> Msg:
    if needed == Role.AIGUILLEUR:
        return msg("admin.refused.aiguilleur")
    return msg("admin.refused.coordinator")


__all__ = ["AdminAnswer", "AdminDesk", "PendingAction"]
