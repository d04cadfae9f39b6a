"""The person's side of the relay with the aiguilleur who accepted their case.

Rules of this flow:
- While an aiguilleur holds one of the person's cases (`ctx.relay`), what the
  person types outside an intake goes to that aiguilleur's thread. The bot
  answers nothing itself (the case has an owner), except the first time: a
  short note that the message was passed on, with the buttons below.
- Only display names travel. Contact details go to the aiguilleur only when the
  person presses "share my contact" (explicit agreement, once).
- The person can end the relay (button or /fin); the aiguilleur is told.
- Buttons carry ``r:<assignment id>:<action>``, independent of the intake's
  state version; a button of a relay that is over gets a polite toast.
- An impact questionnaire in progress keeps its typed answers: the person
  started it from a nudge button and is answering the bot, not the aiguilleur.
"""

from __future__ import annotations

from dialogs.kernel.context import Context, RelayView
from dialogs.kernel.effects import EndRelay, RelayToAiguilleur, ShareContacts
from dialogs.kernel.events import Choice, Command, Event, Text
from dialogs.kernel.outcome import Outcome
from dialogs.kernel.replies import Button, ClearButtons, Say, msg
from dialogs.kernel.state import Stage, State

PREFIX = "r"
END_COMMANDS = frozenset({"fin", "end"})
# Between requests: the person is not answering intake questions.
OUTSIDE_INTAKE = frozenset({Stage.IDLE, Stage.PROPOSALS})
MAX_TEXT = 3000


def data(assignment_id: int, action: str) -> str:
    return f"{PREFIX}:{assignment_id}:{action}"


def handles(state: State | None, event: Event, ctx: Context) -> bool:
    match event:
        case Choice(data=raw):
            return raw.startswith(f"{PREFIX}:")
        case Text():
            answering_bot = ctx.nudge is not None and ctx.nudge.impact_step is not None
            return (
                ctx.relay is not None
                and state is not None
                and state.stage in OUTSIDE_INTAKE
                and not answering_bot
            )
        case Command(name=name):
            return ctx.relay is not None and name.lower() in END_COMMANDS
        case _:
            return False


def buttons(view: RelayView) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    if not view.contacts_shared:
        share = msg("relay.button.share", name=view.aiguilleur_name)
        rows.append((Button(label=share, data=data(view.assignment_id, "share")),))
    rows.append((Button(label=msg("relay.button.end"), data=data(view.assignment_id, "end")),))
    return tuple(rows)


def step(state: State | None, event: Event, ctx: Context) -> Outcome:
    view = ctx.relay
    match event:
        case Text(text=text) if view is not None:
            if len(text) > MAX_TEXT:
                # Refused, not cut: the person would not know what was lost.
                too_long = msg("input.too_long", length=len(text), maximum=MAX_TEXT)
                return Outcome(state=state, replies=(Say(lines=(too_long,)),))
            relayed = RelayToAiguilleur(assignment_id=view.assignment_id, text=text)
            if view.noted:
                return Outcome(state=state, effects=(relayed,))
            note = Say(
                lines=(msg("relay.passed_on", name=view.aiguilleur_name, ref=view.ref),),
                buttons=buttons(view),
            )
            return Outcome(state=state, replies=(note,), effects=(relayed,))
        case Command() if view is not None:
            return end(state, view)
        case Choice(data=raw):
            return pressed(state, raw, view)
        case _:
            return Outcome(state=state)


def pressed(state: State | None, raw: str, view: RelayView | None) -> Outcome:
    _, _, rest = raw.partition(":")
    number, _, action = rest.partition(":")
    if view is None or not number.isdigit() or int(number) != view.assignment_id:
        return Outcome(state=state, replies=(ClearButtons(),), toast=msg("relay.over"))
    if action == "end":
        return end(state, view, from_button=True)
    if action == "share":
        if view.contacts_shared:
            return Outcome(state=state, toast=msg("relay.already_shared"))
        shared = Say(lines=(msg("relay.shared", name=view.aiguilleur_name),))
        return Outcome(
            state=state,
            replies=(ClearButtons(), shared),
            effects=(ShareContacts(assignment_id=view.assignment_id),),
        )
    return Outcome(state=state, toast=msg("button.stale"))


def end(state: State | None, view: RelayView, from_button: bool = False) -> Outcome:
    cleared = (ClearButtons(),) if from_button else ()
    said = Say(lines=(msg("relay.ended", name=view.aiguilleur_name, ref=view.ref),))
    return Outcome(
        state=state,
        replies=(*cleared, said),
        effects=(EndRelay(assignment_id=view.assignment_id),),
    )
