"""A long text that arrives in parts is one answer.

Telegram apps split a text longer than 4,096 characters into several messages
sent within a second (Android cuts every 4,096; the desktop app cuts at the
last paragraph, line or word break after the first half, so a part is at least
~2,048 characters). Taken one by one, the first part would be refused for its
length and the second taken as the answer, or filed under the next question.

Rules:
- After a free-text answer of at least `LONG_PART` characters (accepted or
  refused), the state remembers it (`State.burst`) with the time it was sent.
- A text sent at most `WINDOW` after it is its continuation: the parts are
  joined and the question that the first part answered is answered again with
  the whole (going back to it if the first part had moved the intake on).
- Anything else forgets the remembered part. Times come from the event (the
  transport's timestamp of the message) or the injected clock (`ctx.now`):
  never from a wall clock here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from dialogs.kernel.context import Context
from dialogs.kernel.events import Text
from dialogs.kernel.state import Stage, State

# A part this long may be followed by more: shorter texts are never split.
LONG_PART = 2000
# Parts of one paste reach Telegram within a second; message dates are whole
# seconds. A person reading the next question and answering it takes longer.
WINDOW = timedelta(seconds=3)
# Telegram's size for one message, in UTF-16 code units (what Android cuts at).
TELEGRAM_PART = 4096
# Free-text questions whose answer may be long, with the field they fill; a
# note after the intake (idle, proposals) joins only parts that were refused.
FIELDS: Mapping[Stage, str] = {
    Stage.PROBLEM: "problem",
    Stage.TRIED: "tried",
    Stage.GOAL: "goal",
    Stage.CONSTRAINTS: "constraints",
}
NOTES = frozenset({Stage.IDLE, Stage.PROPOSALS})


def sent_at(text: Text, ctx: Context) -> datetime:
    return text.sent_at or ctx.now


def joined(first: str, second: str) -> str:
    """The two parts as one text. A part cut at exactly Telegram's size was cut
    mid-word (nothing lost in between); a part cut at a break lost that break
    (Telegram trims each message): a sentence's end was a line break, else a space."""
    if len(first.encode("utf-16-le")) // 2 >= TELEGRAM_PART:
        return first + second
    separator = "\n" if first.rstrip().endswith((".", "!", "?", "…", ":", ";")) else " "
    return first.rstrip() + separator + second.lstrip()


def continuation(state: State, text: Text, ctx: Context) -> tuple[State, str] | None:
    """If `text` continues the remembered part: the state to answer it in (at
    the question the first part answered, its answer taken back) and the whole
    text. None otherwise."""
    burst = state.burst
    if not burst:
        return None
    try:
        first_at = datetime.fromisoformat(str(burst["at"]))
        stage = Stage(str(burst["stage"]))
    except (KeyError, ValueError):
        return None
    gap = sent_at(text, ctx) - first_at
    if gap > WINDOW or gap < -WINDOW:
        return None
    field = FIELDS.get(stage)
    answers = {k: v for k, v in state.answers.items() if k != field}
    back = dataclasses.replace(
        state,
        stage=stage,
        # The question shown since is over: its buttons become stale.
        version=state.version + 1,
        answers=answers,
        draft={} if stage != state.stage else state.draft,
        editing=bool(burst.get("editing", False)),
        burst=None,
        live_message=None,
        answered_from=None,
    )
    return back, joined(str(burst.get("text", "")), text.text)


def remembered(
    before: State, after: State | None, text: Text, whole: str, accepted: bool, ctx: Context
) -> State | None:
    """The state after a text answer: remembering it if more parts may follow."""
    if after is None:
        return None
    stage = before.stage
    long_enough = len(whole) >= LONG_PART
    if long_enough and (stage in FIELDS or (stage in NOTES and not accepted)):
        burst: dict[str, Any] = {
            "stage": stage.value,
            "at": sent_at(text, ctx).isoformat(),
            "text": whole,
            "editing": before.editing,
        }
        return dataclasses.replace(after, burst=burst)
    return forget(after)


def forget(state: State | None) -> State | None:
    if state is None or not state.burst:
        return state
    return dataclasses.replace(state, burst=None)
