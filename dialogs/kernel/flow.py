"""The building blocks of every question: what a question is, what an answer
can lead to, and the small parsing helpers all questions share.

Rules:
- Entering a stage asks its question (`Question.ask`); re-asking after bad input,
  after /retour, /aide or a restart is the same call.
- `Question.answer` turns one input into a `Result` and never raises: bad input is
  a `Retry` with a reason the person can act on.
- While `state.editing` is set, a completed answer returns to the summary.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dialogs.kernel.context import Context
from dialogs.kernel.effects import Effect
from dialogs.kernel.events import Location, Text
from dialogs.kernel.i18n import words
from dialogs.kernel.replies import Button, Msg, msg
from dialogs.kernel.state import Stage, State
from dialogs.kernel.textnorm import fold

LIMITS: Mapping[str, tuple[int, int]] = {
    "lieu_name": (2, 120),
    "place": (1, 200),
    "role": (2, 120),
    "problem": (15, 3000),
    "tried": (2, 1500),
    "goal": (2, 1500),
    "constraints": (2, 1500),
    "message": (1, 3000),
}

# Fields of the sheet in display order, with the stage that asks each one.
FIELDS: tuple[tuple[str, Stage], ...] = (
    ("lieu_name", Stage.LIEU_NAME),
    ("place", Stage.PLACE),
    ("role", Stage.ROLE),
    ("themes", Stage.THEMES),
    ("problem", Stage.PROBLEM),
    ("tried", Stage.TRIED),
    ("goal", Stage.GOAL),
    ("constraints", Stage.CONSTRAINTS),
    ("help", Stage.HELP),
    ("urgency", Stage.URGENCY),
)
LIEU_FIELDS = ("lieu_name", "place", "region", "role")
ORDER: tuple[Stage, ...] = (*(stage for _, stage in FIELDS), Stage.SUMMARY)
INTAKE_STAGES = frozenset(
    {
        *ORDER,
        Stage.REUSE_LIEU,
        Stage.PLACE_PICK,
        Stage.PLACE_CONFIRM,
        Stage.THEMES_CONFIRM,
        Stage.EDIT_PICK,
    }
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Picked:
    """The action part of a current (non-stale) button press, and the message
    the button is on (when the transport knows it)."""

    action: str
    message: str | None = None


Input = Text | Location | Picked


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    lines: tuple[Msg, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Next:
    """Answer accepted: go to `to`, saying `before` first."""

    state: State
    to: Stage
    effects: tuple[Effect, ...] = ()
    before: tuple[Msg, ...] = ()
    # What to record as the answer ("Votre réponse : …") when it is not the label
    # of the button pressed: the themes chosen rather than "Valider (2)".
    shown: Msg | tuple[Msg, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Redraw:
    """Same question with a changed draft (a toggled button): redraw it in place."""

    state: State
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    reason: Msg


@dataclass(frozen=True, slots=True, kw_only=True)
class Leave:
    """End the conversation: forget the state (consent refused, data erased)."""

    farewell: Msg
    effects: tuple[Effect, ...] = ()


Result = Next | Redraw | Retry | Leave


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    stage: Stage
    ask: Callable[[State, Context], Prompt]
    answer: Callable[[State, Input, Context], Result]


# -- small helpers -----------------------------------------------------------


def button(state: State, action: str, label: Msg) -> Button:
    return Button(label=label, data=f"{state.version}:{action}")


def clean_text(raw: str) -> str:
    text = _CONTROL.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def read_text(inp: Input, field: str) -> str | Retry:
    """The typed text for a free-text field, or a Retry saying what is wrong."""
    if not isinstance(inp, Text):
        return Retry(reason=msg("input.use_text"))
    text = clean_text(inp.text)
    low, high = LIMITS[field]
    if not text:
        return Retry(reason=msg("input.empty"))
    if len(text) < low:
        return Retry(reason=msg(f"input.too_short.{field}", minimum=low))
    if len(text) > high:
        # Sending it in several messages works only after the intake (each
        # message is then a note on the request): the advice says so.
        key = "input.too_long.note" if field == "message" else "input.too_long.intake"
        return Retry(reason=msg(key, length=len(text), maximum=high))
    return text


def is_yes(text: str) -> bool:
    return fold(text) in words("words.yes")


def is_no(text: str) -> bool:
    return fold(text) in words("words.no")


def options_in(text: str, ids: tuple[str, ...], prefix: str) -> list[str]:
    """Option ids whose words (catalog `words.<prefix>.<id>`) occur in the text."""
    folded = f" {fold(text)} "
    return [
        option
        for option in ids
        if any(f" {w} " in folded for w in words(f"words.{prefix}.{option}"))
    ]


def after(state: State, stage: Stage) -> Stage:
    """The stage following a completed answer to `stage`."""
    if state.editing:
        return Stage.SUMMARY
    index = ORDER.index(stage)
    return ORDER[index + 1]


def accepted(state: State, field: str, value: Any) -> State:
    return dataclasses.replace(state.with_answer(field, value), draft={})
