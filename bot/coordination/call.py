"""What a coordination handler receives: who typed what, where, the unit of
work, and the ways to answer. Everything said is queued in the outbox of the
same transaction, rendered now (as every other reply)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.config.followup import CoordinatorsConfig
from bot.delivery import payloads
from dialogs.assignment.desk import Effects
from dialogs.coordination.access import Actor, in_scope
from dialogs.kernel.commands import Parsed
from dialogs.kernel.events import Choice, Event
from dialogs.kernel.render import render
from dialogs.kernel.replies import Button, Msg, Say
from storage.db import UnitOfWork
from storage.models.coordination import PendingAction


class AssignmentDesk(Protocol):
    """What coordination needs of the aiguilleurs' desk (bot/assignment/executor.py):
    its language and carrying out assignment effects in a unit of work. A protocol, so
    that coordination does not import the desk, which routes coordinators' Matrix
    messages here."""

    locale: str

    def joined(self, room_id: str, user_id: str) -> bool:
        """Whether a Matrix account joined a room (as the Matrix sync says)."""
        ...

    async def apply(self, uow: UnitOfWork, effects: Effects) -> None: ...

    async def tell_on_join(self, uow: UnitOfWork, assignment_id: int, now: datetime) -> None: ...


# Prefix of the buttons of coordination messages: ``adm:<version>:<action>``.
BUTTON_PREFIX = "adm:"
PENDING_LIFETIME = timedelta(hours=24)

OK = "ok"
REFUSED = "refused"
MISUSED = "misused"
NOT_FOUND = "not_found"


def button_action(event: Event | None) -> str | None:
    """The action of a coordination button (``adm:<version>:<action>``), None for
    anything else (typed text, a button of the person's own conversation)."""
    if isinstance(event, Choice) and event.data.startswith(BUTTON_PREFIX):
        parts = event.data.split(":", 2)
        if len(parts) == 3:
            return parts[2]
    return None


@dataclass(slots=True, kw_only=True)
class Services:
    """Long-lived collaborators handlers may need (given by the wiring, bot/app.py)."""

    coordinators: CoordinatorsConfig = field(default_factory=CoordinatorsConfig)
    # The Matrix desk: offers and assignments (None without Matrix).
    desk: AssignmentDesk | None = None
    # Settings of other domains (report milestones…), by name.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class AdminCall:
    uow: UnitOfWork
    actor: Actor
    now: datetime
    locale: str
    # "/" on Telegram, "!" on Matrix: how usages are shown.
    prefix: str
    transport: str
    address: str
    services: Services
    # The command typed, or None when a pending action continues.
    parsed: Parsed | None = None
    # The multi-step action this message continues, and the message itself.
    pending: PendingAction | None = None
    event: Event | None = None
    # Thread to answer in (Matrix), when the command was typed in one.
    thread: str | None = None
    # The bot's message a button press came from (Telegram), for redraws in place.
    source_message: str | None = None
    outcome: str = OK
    case_ref: str | None = None
    queued: int = 0

    # -- answering the person who typed -------------------------------------------

    async def say(self, *lines: Msg, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
        await self.tell(self.transport, self.address, lines, buttons=buttons, thread=self.thread)

    async def edit(self, *lines: Msg, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
        """Redraw the message a button was pressed on (a new message when there is
        none, e.g. typed text or Matrix)."""
        if self.source_message is None or self.transport == "matrix":
            await self.say(*lines, buttons=buttons)
            return
        shown = render(self.locale, lines, buttons)
        payload = payloads.edit(shown, self.source_message)
        await self.uow.outbox.enqueue(
            transport=self.transport, address=self.address, payload=payload, now=self.now
        )
        self.queued += 1

    async def refuse(self, *lines: Msg) -> None:
        self.outcome = REFUSED
        await self.say(*lines)

    async def not_found(self, *lines: Msg) -> None:
        self.outcome = NOT_FOUND
        await self.say(*lines)

    async def file(
        self,
        kind: Literal["photo", "document"],
        data: bytes,
        filename: str,
        mime: str,
        caption: tuple[Msg, ...] = (),
    ) -> None:
        """A photo (``kind="photo"``) or a document sent to the person who typed."""
        html = render(self.locale, caption).html if caption else ""
        payload: payloads.Payload = (
            payloads.photo(filename, data, html, mime=mime)
            if kind == "photo"
            else payloads.document(filename, data, html, mime=mime)
        )
        await self.uow.outbox.enqueue(
            transport=self.transport, address=self.address, payload=payload, now=self.now
        )
        self.queued += 1

    # -- telling others ---------------------------------------------------------------

    async def tell(
        self,
        transport: str,
        address: str,
        lines: tuple[Msg, ...],
        *,
        buttons: tuple[tuple[Button, ...], ...] = (),
        thread: str | None = None,
        locale: str | None = None,
    ) -> None:
        payload = payloads.say(Say(lines=lines, buttons=buttons), locale or self.locale)
        if transport == "matrix":
            payload = dataclasses.replace(payload, thread=thread)
        await self.uow.outbox.enqueue(
            transport=transport, address=address, payload=payload, now=self.now
        )
        self.queued += 1

    async def tell_coordinators(self, lines: tuple[Msg, ...]) -> int:
        """The coordinators' Matrix room and every configured coordinator on Telegram
        (not the one who typed: they already see the answer)."""
        config = self.services.coordinators
        told = 0
        for telegram_id in config.telegram_ids:
            if ("telegram", str(telegram_id)) != (self.transport, self.address):
                await self.tell("telegram", str(telegram_id), lines, locale=config.locale)
                told += 1
        if config.matrix_room and ("matrix", config.matrix_room) != (self.transport, self.address):
            await self.tell("matrix", config.matrix_room, lines, locale=config.locale)
            told += 1
        return told

    # -- scope --------------------------------------------------------------------------

    def in_scope(self, region: str | None) -> bool:
        return in_scope(self.actor, region)

    # -- multi-step actions ---------------------------------------------------------------

    async def ask(
        self,
        kind: str,
        data: Mapping[str, Any],
        lines: tuple[Msg, ...],
        buttons: tuple[tuple[tuple[Msg, str], ...], ...] = (),
        redraw: bool = False,
    ) -> None:
        """Wait for this person's next message here (a form step, a confirmation).
        `buttons` are (label, action) pairs; their data carries the step's version,
        so a button of an earlier step is recognised as stale. `redraw`: edit the
        message whose button was pressed (a toggle) instead of sending a new one."""
        row = await self.uow.coordination.set_pending(
            transport=self.transport,
            address=self.address,
            actor=self.actor.external_id,
            kind=kind,
            data=dict(data),
            now=self.now,
            expires_at=self.now + PENDING_LIFETIME,
        )
        self.pending = row
        rows = tuple(
            tuple(
                Button(label=label, data=f"{BUTTON_PREFIX}{row.version}:{action}")
                for label, action in line
            )
            for line in buttons
        )
        if redraw:
            await self.edit(*lines, buttons=rows)
        else:
            await self.say(*lines, buttons=rows)

    async def finish(self) -> None:
        """The multi-step action is over (done or abandoned)."""
        await self.uow.coordination.clear_pending(
            self.transport, self.address, self.actor.external_id
        )
        self.pending = None
