"""Console transport: the same conversation in a terminal, no token needed.

Buttons are numbered; typing a number alone presses the button of the current
question (only when that question has buttons, so "29" stays a département).
"""

from __future__ import annotations

import asyncio
import getpass
import itertools
import sys
import uuid
from collections.abc import Callable
from typing import IO, assert_never

from bot.delivery.outbox import Dispatcher
from bot.delivery.payloads import (
    Buttons,
    Document,
    EditMessage,
    Message,
    Payload,
    Photo,
    RemoveButtons,
)
from bot.delivery.results import SendResult, Sent
from bot.runtime.core import Incoming, Runtime
from dialogs.kernel.events import Choice, Command, Event, Text
from dialogs.kernel.render import html_to_plain

TRANSPORT = "console"


class ConsoleScreen:
    """Prints outbox payloads and remembers the buttons of the last question."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.buttons: list[dict[str, str]] = []
        self.message_id = 0
        self._ids = itertools.count(1)

    def show(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show_buttons(self, rows: Buttons) -> None:
        self.buttons = [{"label": label, "data": data} for row in rows for label, data in row]
        for number, b in enumerate(self.buttons, start=1):
            self.show(f"  [{number}] {b['label']}")


class ConsoleSender:
    def __init__(self, screen: ConsoleScreen) -> None:
        self.screen = screen

    async def send(self, address: str, payload: Payload) -> SendResult:
        match payload:
            case RemoveButtons():
                return Sent()
            case Document(filename=filename, content=content, caption_html=caption):
                # A terminal has no files to hand over: the caption, then the content.
                self.screen.show("")
                self.screen.show(html_to_plain(caption))
                self.screen.show(f"--- {filename} ---")
                self.screen.show(content.decode("utf-8", errors="replace"))
            case Photo(filename=filename, caption_html=caption):
                self.screen.show("")
                self.screen.show(html_to_plain(caption))
                self.screen.show(f"--- {filename} ---")
            case EditMessage(message=message, html=html, buttons=()):
                # The question is already on screen: show only the recorded answer.
                text = html_to_plain(html)
                self.screen.show(text.splitlines()[-1] if text else "")
                return Sent(external_id=message)
            case EditMessage(html=html, buttons=buttons) | Message(html=html, buttons=buttons):
                self.screen.show("")
                self.screen.show(html_to_plain(html))
                if buttons or isinstance(payload, Message):
                    self.screen.show_buttons(buttons)
            case _:
                assert_never(payload)
        self.screen.message_id = next(self.screen._ids)
        return Sent(external_id=str(self.screen.message_id))


def parse_line(line: str, screen: ConsoleScreen) -> Event | None:
    text = line.rstrip("\n")
    if not text.strip():
        return None
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        name, _, args = stripped[1:].partition(" ")
        return Command(name=name.lower(), args=args.strip())
    if stripped.isdigit() and screen.buttons and 1 <= int(stripped) <= len(screen.buttons):
        return Choice(data=screen.buttons[int(stripped) - 1]["data"])
    return Text(text=text)


class ConsoleTransport:
    def __init__(
        self,
        runtime: Runtime,
        dispatcher: Dispatcher,
        screen: ConsoleScreen,
        user: str | None = None,
        locale: str = "fr",
    ) -> None:
        self.runtime = runtime
        self.dispatcher = dispatcher
        self.screen = screen
        self.user = user or getpass.getuser()
        self.locale = locale

    def incoming(self, event: Event) -> Incoming:
        return Incoming(
            transport=TRANSPORT,
            address=self.user,
            update_key=uuid.uuid4().hex,
            event=event,
            sender_id=self.user,
            sender_name=self.user,
            locale_hint=self.locale,
            source_message=str(self.screen.message_id) if self.screen.message_id else None,
        )

    async def feed(self, event: Event) -> None:
        handled = await self.runtime.handle(self.incoming(event))
        if handled.toast:
            self.screen.show(f"  ({handled.toast})")
        await self.dispatcher.deliver_due()

    async def run(self, read_line: Callable[[], str] | None = None, greet: bool = True) -> None:
        reader = read_line or sys.stdin.readline
        if greet:
            await self.feed(Command(name="start"))
        while True:
            self.screen.out.write("> ")
            self.screen.out.flush()
            line = await asyncio.to_thread(reader)
            if line == "":  # end of input (Ctrl-D)
                self.screen.show("")
                return
            event = parse_line(line, self.screen)
            if event is not None:
                await self.feed(event)
