"""``admin`` (``coordination``; ``aide`` where coordination comes first): the
commands this person may type, generated from the declared vocabulary."""

from __future__ import annotations

from bot.coordination.call import AdminCall
from bot.coordination.registry import handles
from dialogs.coordination.commands import help_text


@handles("admin")
async def show_help(call: AdminCall) -> None:
    await call.say(*help_text(call.actor.role, call.prefix))
