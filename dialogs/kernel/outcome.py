"""What one `step` decides: the new state, what to say, what to do.

Its own module so that every flow (intake in `engine`, follow-up in `followup`)
can build one without importing the other."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.kernel.effects import Effect
from dialogs.kernel.replies import Msg, Reply
from dialogs.kernel.state import State


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The new state (None: forget the conversation), what to send, what to do,
    and the text of the answer to a button press."""

    state: State | None
    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
    toast: Msg | None = None
