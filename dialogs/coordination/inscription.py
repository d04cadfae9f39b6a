"""The inscription form: someone who wants to become an aiguilleur says which
themes they can help with, where, and how many requests at once; then a
summary to confirm. On Telegram the themes are toggle buttons (as in the
intake) and every step has buttons; on Matrix everything is typed.

Rules:
- One step at a time: THEMES → REGIONS → CAPACITY → CONFIRM. Entering a step
  asks its question; bad input re-asks it with a reason.
- Themes: buttons toggle (the message is redrawn in place), or typed names,
  words (« compta ») or numbers of the list (« 5 6 »).
- Régions: typed names or codes (« Bretagne, PDL »), or « toutes » (none
  recorded: they work everywhere).
- Capacity: a number from 1 to 20.
- The form's state is plain JSON (a pending action's data), so that it
  survives restarts like any other row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dialogs.coordination.commands import region_of, theme_of
from dialogs.coordination.people import (
    MAX_CAPACITY,
    MIN_CAPACITY,
    identity_msg,
    regions_msg,
    themes_msg,
)
from dialogs.kernel.flow import is_no, is_yes, options_in
from dialogs.kernel.i18n import words
from dialogs.kernel.options import THEMES
from dialogs.kernel.replies import Msg, msg
from dialogs.kernel.textnorm import fold

CAPACITY_BUTTONS = (1, 2, 3, 5)
DEFAULT_CAPACITY = 3
_FILLERS = frozenset({"et", "and", "en", "in", "region", "regions"})
_SEPARATORS = re.compile(r"[,;/+]")


class Step(StrEnum):
    THEMES = "themes"
    REGIONS = "regions"
    CAPACITY = "capacity"
    CONFIRM = "confirm"


ORDER = (Step.THEMES, Step.REGIONS, Step.CAPACITY, Step.CONFIRM)


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    lines: tuple[Msg, ...]
    # (label, action) rows; the caller turns actions into versioned buttons.
    buttons: tuple[tuple[tuple[Msg, str], ...], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Ask:
    """Wait for the next answer with this form state and question."""

    data: dict[str, Any]
    prompt: Prompt
    # A toggled theme: redraw the question in place rather than ask anew.
    redraw: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Done:
    themes: tuple[str, ...]
    regions: tuple[str, ...]
    capacity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancelled:
    """The person answered no at the confirmation: nothing is recorded."""


Result = Ask | Done | Cancelled


@dataclass(frozen=True, slots=True, kw_only=True)
class Form:
    """The form's state, read from and written to JSON."""

    step: Step = Step.THEMES
    themes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    capacity: int | None = None
    # An aiguilleur updating their own profile (no approval needed).
    update: bool = False
    # Answered by typing only (Matrix has no buttons): questions say so.
    typed: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Form:
        try:
            step = Step(str(data.get("step", Step.THEMES)))
        except ValueError:
            step = Step.THEMES
        capacity = data.get("capacity")
        return cls(
            step=step,
            themes=tuple(t for t in data.get("themes") or () if t in THEMES),
            regions=tuple(str(r) for r in data.get("regions") or ()),
            capacity=capacity if isinstance(capacity, int) else None,
            update=bool(data.get("update", False)),
            typed=bool(data.get("typed", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step.value,
            "themes": list(self.themes),
            "regions": list(self.regions),
            "capacity": self.capacity,
            "update": self.update,
            "typed": self.typed,
        }

    def at(self, step: Step, **changes: Any) -> Form:
        values: dict[str, Any] = {
            "step": step,
            "themes": self.themes,
            "regions": self.regions,
            "capacity": self.capacity,
            "update": self.update,
            "typed": self.typed,
        }
        values.update(changes)
        return Form(**values)


# -- questions ---------------------------------------------------------------------------


def start(
    themes: Sequence[str] = (),
    regions: Sequence[str] = (),
    capacity: int | None = None,
    *,
    update: bool = False,
    typed: bool = False,
) -> Ask:
    """The form's first question; an aiguilleur updating starts from their profile.
    `typed`: a chat without buttons (Matrix)."""
    form = Form(
        themes=tuple(t for t in themes if t in THEMES),
        regions=tuple(regions),
        capacity=capacity,
        update=update,
        typed=typed,
    )
    intro = msg("admin.inscription.update" if update else "admin.inscription.intro")
    return Ask(data=form.to_json(), prompt=with_reason(intro, ask(form)))


def ask(form: Form) -> Prompt:
    match form.step:
        case Step.THEMES:
            return ask_themes(form)
        case Step.REGIONS:
            return ask_regions(form)
        case Step.CAPACITY:
            return ask_capacity(form)
        case Step.CONFIRM:
            return ask_confirm(form)


def step_title(step: Step) -> Msg:
    return msg("admin.inscription.step", number=ORDER.index(step) + 1, count=len(ORDER) - 1)


def ask_themes(form: Form) -> Prompt:
    numbered = tuple(
        msg("admin.inscription.numbered", number=n, label=msg(f"theme.{t}"))
        for n, t in enumerate(THEMES, 1)
    )
    asked = "admin.inscription.themes.ask_typed" if form.typed else "admin.inscription.themes.ask"
    lines = [step_title(Step.THEMES), msg(asked)]
    lines.append(msg("admin.inscription.themes.list", items=numbered))
    if form.themes:
        lines.append(msg("admin.inscription.chosen", items=themes_msg(ordered(form.themes))))
    toggles = [
        (
            msg("toggle.on", label=msg(f"theme.{t}")) if t in form.themes else msg(f"theme.{t}"),
            f"th:{t}",
        )
        for t in THEMES
    ]
    rows = [tuple(toggles[n : n + 2]) for n in range(0, len(toggles), 2)]
    rows.append(((msg("toggle.done", count=len(form.themes)), "done"),))
    return Prompt(lines=tuple(lines), buttons=tuple(rows))


def ask_regions(form: Form) -> Prompt:
    lines = [step_title(Step.REGIONS), msg("admin.inscription.regions.ask")]
    if form.update:
        lines.append(msg("admin.inscription.current", value=regions_msg(form.regions)))
    return Prompt(
        lines=tuple(lines),
        buttons=(((msg("admin.inscription.regions.all"), "rg:all"),),),
    )


def ask_capacity(form: Form) -> Prompt:
    lines = [
        step_title(Step.CAPACITY),
        msg("admin.inscription.capacity.ask", minimum=MIN_CAPACITY, maximum=MAX_CAPACITY),
    ]
    if form.update and form.capacity is not None:
        lines.append(msg("admin.inscription.current", value=str(form.capacity)))
    row = tuple((msg("admin.inscription.number", number=n), f"cap:{n}") for n in CAPACITY_BUTTONS)
    return Prompt(lines=tuple(lines), buttons=(row,))


def ask_confirm(form: Form) -> Prompt:
    return Prompt(
        lines=(
            *summary_lines(form.themes, form.regions, form.capacity or DEFAULT_CAPACITY),
            msg("admin.inscription.confirm.ask"),
        ),
        buttons=(
            (
                (msg("admin.inscription.confirm.yes"), "yes"),
                (msg("admin.inscription.confirm.no"), "no"),
            ),
        ),
    )


def summary_lines(themes: Sequence[str], regions: Sequence[str], capacity: int) -> tuple[Msg, ...]:
    return (
        msg("admin.inscription.summary"),
        msg("admin.inscription.summary.themes", themes=themes_msg(ordered(themes))),
        msg("admin.inscription.summary.regions", regions=regions_msg(regions)),
        msg("admin.inscription.summary.capacity", capacity=capacity),
    )


def with_reason(reason: Msg, prompt: Prompt) -> Prompt:
    return Prompt(lines=(reason, *prompt.lines), buttons=prompt.buttons)


def retry(form: Form, reason: Msg) -> Ask:
    return Ask(data=form.to_json(), prompt=with_reason(reason, ask(form)))


def go(form: Form, step: Step, **changes: Any) -> Ask:
    moved = form.at(step, **changes)
    return Ask(data=moved.to_json(), prompt=ask(moved))


# -- answers ---------------------------------------------------------------------------------


def answer(data: Mapping[str, Any], *, pressed: str | None, typed: str | None) -> Result:
    """One answer: a pressed button's action, or typed text (None for anything
    else, e.g. a photo). Never raises."""
    form = Form.from_json(data)
    if typed is not None and not typed.strip():
        typed = None
    match form.step:
        case Step.THEMES:
            return answer_themes(form, pressed, typed)
        case Step.REGIONS:
            return answer_regions(form, pressed, typed)
        case Step.CAPACITY:
            return answer_capacity(form, pressed, typed)
        case Step.CONFIRM:
            return answer_confirm(form, pressed, typed)


def answer_themes(form: Form, pressed: str | None, typed: str | None) -> Result:
    if pressed == "done":
        if not form.themes:
            return retry(form, msg("admin.inscription.themes.none"))
        return go(form, Step.REGIONS, themes=ordered(form.themes))
    if pressed is not None and pressed.startswith("th:"):
        theme = pressed.removeprefix("th:")
        if theme not in THEMES:
            return retry(form, msg("admin.inscription.themes.retry"))
        chosen = (
            tuple(t for t in form.themes if t != theme)
            if theme in form.themes
            else (*form.themes, theme)
        )
        toggled = form.at(Step.THEMES, themes=chosen)
        return Ask(data=toggled.to_json(), prompt=ask(toggled), redraw=True)
    themes = read_themes(typed) if typed is not None else None
    if not themes:
        return retry(form, msg("admin.inscription.themes.retry"))
    return go(form, Step.REGIONS, themes=themes)


def answer_regions(form: Form, pressed: str | None, typed: str | None) -> Result:
    if pressed == "rg:all":
        return go(form, Step.CAPACITY, regions=())
    regions = read_regions(typed) if typed is not None else None
    if regions is None:
        return retry(form, msg("admin.inscription.regions.retry"))
    return go(form, Step.CAPACITY, regions=regions)


def answer_capacity(form: Form, pressed: str | None, typed: str | None) -> Result:
    word = pressed.removeprefix("cap:") if pressed and pressed.startswith("cap:") else typed
    number = read_capacity(word) if word is not None else None
    if number is None:
        return retry(
            form,
            msg("admin.inscription.capacity.retry", minimum=MIN_CAPACITY, maximum=MAX_CAPACITY),
        )
    return go(form, Step.CONFIRM, capacity=number)


def answer_confirm(form: Form, pressed: str | None, typed: str | None) -> Result:
    if pressed == "yes" or (typed is not None and is_yes(typed)):
        return Done(
            themes=ordered(form.themes),
            regions=form.regions,
            capacity=form.capacity or DEFAULT_CAPACITY,
        )
    if pressed == "no" or (typed is not None and is_no(typed)):
        return Cancelled()
    return retry(form, msg("admin.inscription.confirm.retry"))


# -- reading typed words -------------------------------------------------------------------


def ordered(themes: Sequence[str]) -> tuple[str, ...]:
    return tuple(t for t in THEMES if t in themes)


def read_themes(text: str) -> tuple[str, ...]:
    """Numbers of the list, ids, labels or words; () when nothing is recognised
    or a number is out of the list."""
    found: list[str] = []
    folded = fold(text)
    numbers = [w for w in folded.split() if w.isdigit()]
    for number in numbers:
        index = int(number)
        if not 1 <= index <= len(THEMES):
            return ()
        found.append(THEMES[index - 1])
    for part in _SEPARATORS.split(text):
        known = theme_of(part.strip())
        if known is not None:
            found.append(known)
    found.extend(options_in(text, THEMES, "theme"))
    return ordered(found)


def read_regions(text: str) -> tuple[str, ...] | None:
    """Région codes typed by name or code (longest names first), () for
    « toutes », None when a word is not a région."""
    folded = fold(text)
    if not folded:
        return None
    if folded in words("words.everywhere"):
        return ()
    codes: list[str] = []
    for part in _SEPARATORS.split(text):
        tokens = [t for t in fold(part).split() if t]
        index = 0
        while index < len(tokens):
            for stop in range(len(tokens), index, -1):
                code = region_of(" ".join(tokens[index:stop]))
                if code is not None:
                    if code not in codes:
                        codes.append(code)
                    index = stop
                    break
            else:
                if tokens[index] not in _FILLERS:
                    return None
                index += 1
    return tuple(codes) if codes else None


def read_capacity(word: str) -> int | None:
    word = word.strip()
    if not word.isdigit() or len(word) > 3:
        return None
    number = int(word)
    return number if MIN_CAPACITY <= number <= MAX_CAPACITY else None


# -- what coordinators and the person are told --------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InscriptionView:
    id: int
    name: str
    transport: str
    external_id: str
    themes: tuple[str, ...]
    regions: tuple[str, ...]
    capacity: int


def inscription_line(item: InscriptionView) -> Msg:
    return msg(
        "admin.inscription.line",
        number=item.id,
        name=item.name,
        identity=identity_msg(item.transport, item.external_id),
        themes=themes_msg(ordered(item.themes)),
        regions=regions_msg(item.regions),
        capacity=item.capacity,
    )


def to_coordinators(item: InscriptionView) -> tuple[Msg, ...]:
    return (
        msg("admin.inscription.new"),
        inscription_line(item),
        msg(
            "admin.inscription.how_to_decide",
            approve=f"inscription valider {item.id}",
            reject=f"inscription refuser {item.id}",
        ),
    )


def pending_lines(items: Sequence[InscriptionView], prefix: str) -> tuple[Msg, ...]:
    if not items:
        return (msg("admin.inscription.none"),)
    return (
        msg("admin.inscription.title", count=len(items)),
        *(inscription_line(i) for i in items),
        msg(
            "admin.inscription.decide_hint",
            approve=f"{prefix}inscription valider N",
            reject=f"{prefix}inscription refuser N",
        ),
    )
