"""What the command line prints: a catalog message rendered as plain text."""

from __future__ import annotations

import sys

from dialogs.kernel.render import html_to_plain, render_msg
from dialogs.kernel.replies import Msg


class Output:
    """Where a command speaks, in the terminal's language (`bot.cli.commands.cli_locale`):
    the one way the command line prints a message."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def text(self, message: Msg) -> str:
        return html_to_plain(render_msg(self.locale, message))

    def out(self, message: Msg) -> None:
        print(self.text(message))

    def err(self, message: Msg) -> None:
        print(self.text(message), file=sys.stderr)

    def fail(self, message: Msg) -> int:
        self.err(message)
        return 2
