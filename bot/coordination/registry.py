"""Handlers by command name, and continuations of multi-step actions by kind.

A handler is ``async def (call: AdminCall) -> None``; it answers through the
call and sets ``call.outcome`` / ``call.case_ref`` for the command log. The
modules of `bot.coordination.handlers` register themselves on import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.coordination.call import AdminCall

Handler = Callable[[AdminCall], Awaitable[None]]

HANDLERS: dict[str, Handler] = {}
# Continuations: the next message of a person with a pending action of this kind.
CONTINUATIONS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        for name in names:
            if name in HANDLERS:
                raise RuntimeError(f"two handlers for {name!r}")
            HANDLERS[name] = function
        return function

    return register


def continues(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        if kind in CONTINUATIONS:
            raise RuntimeError(f"two continuations for {kind!r}")
        CONTINUATIONS[kind] = function
        return function

    return register
