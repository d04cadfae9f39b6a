"""Console transport: the same conversation in a terminal, no token needed.

Buttons are numbered; typing a number alone presses the button of the current
question (only when that question has buttons, so "29" stays a département).
Several numbers ("5 6") press several toggles of the same question; a number
that matches no button is answered politely, not taken as text (postal codes,
three digits or more, stay text). Ctrl-C and Ctrl-D leave at once, with a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import itertools
import os
import re
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from typing import IO, Any

from bot.delivery.outbox import Dispatcher, SendResult, Sent
from bot.runtime.core import Incoming, Runtime
from dialogs.kernel.events import Choice, Command, Event, Text
from dialogs.kernel.i18n import translate
from dialogs.kernel.render import html_to_plain

TRANSPORT = "console"
# One or more button numbers: "2", "5 6", "5, 6". Longer numbers are postal codes.
NUMBERS = re.compile(r"\d{1,2}(?:[\s,;]+\d{1,2})*")


class ConsoleScreen:
    """Prints outbox payloads and remembers the buttons of the last question."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.buttons: list[dict[str, str]] = []
        self.message_id = 0
        # The last message shown redrew the question in place (a toggle).
        self.redrawn = False
        self._ids = itertools.count(1)

    def show(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show_buttons(self, rows: list[list[dict[str, str]]]) -> None:
        self.buttons = [b for row in rows for b in row]
        for number, b in enumerate(self.buttons, start=1):
            self.show(f"  [{number}] {b['label']}")


class ConsoleSender:
    def __init__(self, screen: ConsoleScreen) -> None:
        self.screen = screen

    async def send(self, address: str, payload: dict[str, Any]) -> SendResult:
        kind = payload.get("kind")
        if kind == "clear_buttons":
            return Sent()
        if kind == "document":
            # A terminal has no files to hand over: the caption, then the content.
            self.screen.show("")
            self.screen.show(html_to_plain(payload.get("caption", "")))
            self.screen.show(f"--- {payload.get('filename', '')} ---")
            self.screen.show(str(payload.get("content", "")))
            self.screen.message_id = next(self.screen._ids)
            return Sent(external_id=str(self.screen.message_id))
        text = html_to_plain(payload.get("html", ""))
        buttons = payload.get("buttons") or []
        if kind == "echo":
            # A typed answer to a question with buttons, as understood.
            self.screen.show(text)
            return Sent()
        if kind == "edit" and not buttons:
            # The question is already on screen: show only the recorded answer.
            self.screen.show(text.splitlines()[-1] if text else "")
            return Sent(external_id=str(payload.get("message")))
        self.screen.show("")
        self.screen.show(text)
        if buttons or kind == "send":
            self.screen.show_buttons(buttons)
        self.screen.redrawn = kind == "edit"
        self.screen.message_id = next(self.screen._ids)
        return Sent(external_id=str(self.screen.message_id))


def parse_line(line: str, screen: ConsoleScreen) -> Event | list[int] | None:
    """A command, a text, or the numbers of buttons pressed (checked by the caller)."""
    text = line.rstrip("\n")
    if not text.strip():
        return None
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        name, _, args = stripped[1:].partition(" ")
        return Command(name=name.lower(), args=args.strip())
    if screen.buttons and NUMBERS.fullmatch(stripped):
        return [int(n) for n in re.findall(r"\d+", stripped)]
    return Text(text=text)


class FdLines:
    """Lines from a file descriptor (stdin) read with `os.read`: unlike
    `sys.stdin.readline`, a read blocked in a thread holds no lock that the
    interpreter needs when it exits."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = b""

    def __call__(self) -> str:
        while b"\n" not in self.pending:
            chunk = os.read(self.fd, 4096)
            if not chunk:
                line, self.pending = self.pending, b""
                return line.decode("utf-8", errors="replace")
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8", errors="replace") + "\n"


class LineReader:
    """Lines typed, read by a daemon thread: a blocked read never holds the
    program back when it leaves (Ctrl-C must not wait for Enter)."""

    def __init__(self, read_line: Callable[[], str]) -> None:
        self.read_line = read_line
        self.lines: asyncio.Queue[str] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.wanted = threading.Event()
        threading.Thread(target=self.run, name="console-input", daemon=True).start()

    def run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            try:
                line = self.read_line()
            except (EOFError, OSError, ValueError):
                line = ""
            self.loop.call_soon_threadsafe(self.lines.put_nowait, line)
            if line == "":
                return

    async def next(self) -> str:
        self.wanted.set()
        return await self.lines.get()


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

    def say(self, key: str, **params: object) -> None:
        self.screen.show(translate(self.locale, key).format(**params))

    async def press(self, numbers: list[int]) -> None:
        """Buttons by number; several only while each press redraws the same
        question (toggles): a press that moves on leaves the rest unused."""
        count = len(self.screen.buttons)
        if any(not 1 <= n <= count for n in numbers):
            self.say("console.out_of_range", count=count)
            return
        for index, number in enumerate(numbers):
            if index > 0 and not self.screen.redrawn:
                self.say("console.rest_unused")
                return
            data = self.screen.buttons[number - 1]["data"]
            message = str(self.screen.message_id) if self.screen.message_id else None
            await self.feed(Choice(data=data, message=message))

    async def run(self, read_line: Callable[[], str] | None = None, greet: bool = True) -> None:
        """Until Ctrl-D (end of input) or Ctrl-C, each with a goodbye."""
        loop = asyncio.get_running_loop()
        interrupted = asyncio.Event()
        handled_sigint = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # Only from the main thread of a Unix process; elsewhere Ctrl-C stays
            # the default KeyboardInterrupt.
            loop.add_signal_handler(signal.SIGINT, interrupted.set)
            handled_sigint = True
        try:
            lines = LineReader(read_line or FdLines(sys.stdin.fileno()))
            await self.converse(lines, interrupted, greet)
        finally:
            if handled_sigint:
                loop.remove_signal_handler(signal.SIGINT)

    async def converse(self, reader: LineReader, interrupted: asyncio.Event, greet: bool) -> None:
        if greet:
            await self.feed(Command(name="start"))
        stop = asyncio.ensure_future(interrupted.wait())
        try:
            while True:
                self.screen.out.write("> ")
                self.screen.out.flush()
                line = asyncio.ensure_future(reader.next())
                await asyncio.wait({line, stop}, return_when=asyncio.FIRST_COMPLETED)
                if not line.done() or line.result() == "":
                    # Ctrl-C, or the end of input (Ctrl-D): leave with a word.
                    line.cancel()
                    self.screen.show("")
                    self.say("console.goodbye")
                    return
                parsed = parse_line(line.result(), self.screen)
                if isinstance(parsed, list):
                    await self.press(parsed)
                elif parsed is not None:
                    await self.feed(parsed)
        finally:
            stop.cancel()
