"""``admin`` (``coordination``): the commands this person may type, generated
from the declared grammar."""

from __future__ import annotations

from bot.coordination.call import AdminCall
from bot.coordination.registry import handles
from dialogs.coordination.grammar import help_lines


@handles("admin")
async def show_help(call: AdminCall) -> None:
    await call.say(*help_lines(call.actor.role, call.prefix))
