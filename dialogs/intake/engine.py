"""`step(state, event, ctx) -> Outcome`: the whole conversation logic, without I/O.

Rules:
- Commands work at any stage and never lose answers; the ones that would
  (/annuler, /recommencer) ask first.
- Button data is ``"<version>:<action>"``. A press whose version is not the
  current one is stale: it is answered (toast) and changes nothing, which is
  also what makes a double tap count once.
- Anything that is not usable input gets a polite reason and the question again.
"""

from __future__ import annotations

import dataclasses

from dialogs.assignment import relay
from dialogs.followup import steps as followup
from dialogs.intake.proposals import proposals_draft
from dialogs.intake.table import QUESTIONS, previous
from dialogs.kernel.context import Context
from dialogs.kernel.dates import short_date
from dialogs.kernel.effects import Effect
from dialogs.kernel.events import (
    Attachment,
    CaseCreated,
    Choice,
    Command,
    Event,
    Location,
    Text,
)
from dialogs.kernel.flow import (
    INTAKE_STAGES,
    Input,
    Leave,
    Next,
    Picked,
    Prompt,
    Redraw,
    Result,
    Retry,
)
from dialogs.kernel.i18n import supported
from dialogs.kernel.outcome import Outcome
from dialogs.kernel.replies import Button, ClearButtons, Edit, Msg, Reply, Say, msg
from dialogs.kernel.state import Stage, State
from dialogs.privacy import steps as privacy

# French names first; English ones so that the English command menu works too.
COMMAND_ALIASES = {
    "start": "start",
    "aide": "aide",
    "help": "aide",
    "annuler": "annuler",
    "cancel": "annuler",
    "retour": "retour",
    "back": "retour",
    "recommencer": "recommencer",
    "restart": "recommencer",
    "statut": "statut",
    "status": "statut",
    "nouveau": "nouveau",
    "new": "nouveau",
    "fin": "fin",
    "end": "fin",
    "mesdonnees": "mesdonnees",
    "mydata": "mesdonnees",
    "oublier": "oublier",
    "forget": "oublier",
}
# Command name, help key, in menu order; registered with setMyCommands.
MENU: tuple[tuple[str, str], ...] = (
    ("aide", "menu.aide"),
    ("statut", "menu.statut"),
    ("nouveau", "menu.nouveau"),
    ("retour", "menu.retour"),
    ("recommencer", "menu.recommencer"),
    ("annuler", "menu.annuler"),
    ("fin", "menu.fin"),
    ("mesdonnees", "menu.mesdonnees"),
    ("oublier", "menu.oublier"),
)
# /aide: the commands, then what the person can do with their data.
HELP = (msg("help.body"), msg("help.privacy"), msg("help.admin"))
# Stages between requests: the person is not answering intake questions.
RESTING = frozenset({Stage.IDLE, Stage.PROPOSALS})
# English command names for the English menu: the aliases that are not French.
MENU_EN = {french: english for english, french in COMMAND_ALIASES.items() if english != french}


def step(state: State | None, event: Event, ctx: Context) -> Outcome:
    if relay.handles(state, event, ctx):
        # A case held by an aiguilleur: the person talks to them (dialogs/assignment/relay.py).
        return relay.step(state, event, ctx)
    if followup.handles(state, event, ctx):
        # Nudges and their buttons have their own flow (dialogs/followup/steps.py).
        return followup.step(state, event, ctx)
    if state is None:
        return first_contact(event, ctx)
    match event:
        case Command():
            return command(state, event, ctx)
        case Choice(data=data):
            version, _, action = data.partition(":")
            if not version.isdigit() or int(version) != state.version or not action:
                return Outcome(state=state, replies=(ClearButtons(),), toast=msg("button.stale"))
            return answer(state, Picked(action=action), ctx)
        case Text() | Location():
            return answer(state, event, ctx)
        case Attachment(kind=kind):
            reason = msg("input.unsupported", kind=msg(f"attachment.{kind.value}"))
            return retry(state, reason, ctx, from_button=False)
        case CaseCreated(ref=ref, resources=resources, aiguilleurs=people):
            created = Say(lines=(msg("case.created", ref=ref),))
            if not resources and not people:
                return Outcome(state=state, replies=(created,))
            proposing = dataclasses.replace(state, draft=proposals_draft(event))
            return enter(proposing, Stage.PROPOSALS, ctx, replies=(created,))


def first_contact(event: Event, ctx: Context) -> Outcome:
    fresh = State(locale=supported(ctx.locale_hint))
    if isinstance(event, Choice):
        # A button from a conversation we forgot (consent refused, erased).
        return Outcome(state=None, replies=(ClearButtons(),), toast=msg("button.stale"))
    if is_command(event, privacy.EXPORT) or is_command(event, privacy.FORGET):
        return privacy.nothing_stored()
    before = HELP if is_command(event, "aide") else ()
    return enter(fresh, Stage.WELCOME, ctx, before=before)


def is_command(event: Event, name: str) -> bool:
    return isinstance(event, Command) and COMMAND_ALIASES.get(event.name.lower()) == name


def enter(
    state: State,
    stage: Stage,
    ctx: Context,
    before: tuple[Msg, ...] = (),
    replies: tuple[Reply, ...] = (),
    effects: tuple[Effect, ...] = (),
) -> Outcome:
    """Move to `stage` and ask its question (one code path for every entry)."""
    entered = dataclasses.replace(state, stage=stage, version=state.version + 1)
    if stage == Stage.SUMMARY:
        # Every edit ends on the summary: from here on, answers follow the flow again.
        entered = dataclasses.replace(entered, editing=False)
    lines: tuple[Msg, ...] = before
    buttons: tuple[tuple[Button, ...], ...] = ()
    if stage != Stage.IDLE:
        prompt = QUESTIONS[stage].ask(entered, ctx)
        lines, buttons = (*before, *prompt.lines), prompt.buttons
    said = (Say(lines=lines, buttons=buttons),) if lines else ()
    return Outcome(state=entered, replies=(*replies, *said), effects=effects)


def prompt_of(state: State, ctx: Context) -> Prompt:
    return QUESTIONS[state.stage].ask(state, ctx)


def reask(state: State, ctx: Context, before: tuple[Msg, ...] = ()) -> Outcome:
    """Say something, then the current question again (same version: its buttons
    and the earlier copy's stay valid)."""
    if state.stage == Stage.IDLE:
        prompt = prompt_of(state, ctx)
        return Outcome(state=state, replies=(Say(lines=(*before, *prompt.lines)),))
    prompt = prompt_of(state, ctx)
    return Outcome(
        state=state, replies=(Say(lines=(*before, *prompt.lines), buttons=prompt.buttons),)
    )


def retry(state: State, reason: Msg, ctx: Context, from_button: bool) -> Outcome:
    if from_button:
        return Outcome(state=state, toast=reason)
    return reask(state, ctx, before=(reason,))


def chosen_label(state: State, action: str, ctx: Context) -> Msg | None:
    data = f"{state.version}:{action}"
    for row in prompt_of(state, ctx).buttons:
        for b in row:
            if b.data == data:
                return b.label
    return None


def answer(state: State, inp: Input, ctx: Context) -> Outcome:
    from_button = isinstance(inp, Picked)
    result: Result = QUESTIONS[state.stage].answer(state, inp, ctx)
    match result:
        case Next(state=accepted, to=to, effects=effects, before=before):
            shown: tuple[Reply, ...] = ()
            if isinstance(inp, Picked):
                shown = (answered_in_place(state, inp.action, ctx),)
            return enter(accepted, to, ctx, before=before, replies=shown, effects=effects)
        case Redraw(state=changed, effects=effects):
            redrawn = dataclasses.replace(changed, version=changed.version + 1)
            prompt = prompt_of(redrawn, ctx)
            reply: Reply = (
                Edit(lines=prompt.lines, buttons=prompt.buttons)
                if from_button
                else Say(lines=prompt.lines, buttons=prompt.buttons)
            )
            return Outcome(state=redrawn, replies=(reply,), effects=effects)
        case Retry(reason=reason):
            return retry(state, reason, ctx, from_button)
        case Leave(farewell=farewell, effects=effects):
            cleared: tuple[Reply, ...] = (ClearButtons(),) if from_button else ()
            return Outcome(state=None, replies=(*cleared, Say(lines=(farewell,))), effects=effects)


def answered_in_place(state: State, action: str, ctx: Context) -> Reply:
    """Turn the question the person answered by button into a record of the
    answer: same text, the chosen label below, no buttons left to press."""
    label = chosen_label(state, action, ctx)
    if label is None:
        return ClearButtons()
    return Edit(lines=(*prompt_of(state, ctx).lines, msg("answer.chosen", label=label)))


# -- commands ----------------------------------------------------------------


def command(state: State, cmd: Command, ctx: Context) -> Outcome:
    name = COMMAND_ALIASES.get(cmd.name.lower())
    in_intake = state.stage in INTAKE_STAGES
    match name:
        case "start":
            if not state.consented:
                return enter(state, Stage.WELCOME, ctx)
            if state.stage in RESTING:
                return new_request(state, ctx)
            return reask(state, ctx, before=(msg("start.resume"),))
        case "aide":
            return reask(state, ctx, before=HELP)
        case "annuler":
            if in_intake:
                asking = dataclasses.replace(state, resume=state.stage)
                return enter(asking, Stage.CONFIRM_CANCEL, ctx)
            if state.stage in RESTING:
                return reask(state, ctx, before=(msg("cancel.nothing"),))
            return reask(state, ctx)
        case "recommencer":
            if in_intake:
                asking = dataclasses.replace(state, resume=state.stage)
                return enter(asking, Stage.CONFIRM_RESTART, ctx)
            if state.stage in RESTING:
                cleared = dataclasses.replace(state, answers={}, draft={}, editing=False)
                return enter(cleared, Stage.LIEU_NAME, ctx)
            return reask(state, ctx)
        case "retour":
            return go_back(state, ctx)
        case "statut":
            return status(state, ctx)
        case "nouveau":
            if not state.consented:
                return enter(state, Stage.WELCOME, ctx)
            if in_intake:
                return reask(state, ctx, before=(msg("new.in_progress"),))
            return new_request(state, ctx)
        case "fin":
            # With an aiguilleur holding the case, dialogs/assignment/relay.py takes /fin first.
            return reask(state, ctx, before=(msg("relay.nothing_to_end"),))
        case "mesdonnees":
            export = privacy.export_effect(state)
            if state.stage in RESTING:
                return Outcome(state=state, effects=(export,))
            return dataclasses.replace(reask(state, ctx), effects=(export,))
        case "oublier":
            if state.stage == Stage.CONFIRM_FORGET:
                return reask(state, ctx)
            resume = state.resume if state.stage in privacy.CONFIRMING else state.stage
            asking = dataclasses.replace(state, resume=resume)
            return enter(asking, Stage.CONFIRM_FORGET, ctx)
        case _:
            unknown = msg("command.unknown", name=cmd.name[:32])
            return reask(state, ctx, before=(unknown,))


def go_back(state: State, ctx: Context) -> Outcome:
    if state.stage in privacy.CONFIRMING:
        back = state.resume or Stage.LIEU_NAME
        return enter(dataclasses.replace(state, resume=None), back, ctx)
    if state.stage not in INTAKE_STAGES:
        return reask(state, ctx, before=(msg("back.nothing"),))
    target = previous(state)
    if target is None:
        return reask(state, ctx, before=(msg("back.first"),))
    editing = state.editing and target != Stage.SUMMARY
    moved = dataclasses.replace(state, draft={}, editing=editing)
    return enter(moved, target, ctx)


def new_request(state: State, ctx: Context) -> Outcome:
    cleared = dataclasses.replace(state, answers={}, draft={}, editing=False, resume=None)
    if ctx.last_lieu:
        return enter(cleared.with_draft(lieu=dict(ctx.last_lieu)), Stage.REUSE_LIEU, ctx)
    return enter(cleared, Stage.LIEU_NAME, ctx)


def status(state: State, ctx: Context) -> Outcome:
    if not ctx.cases:
        lines: tuple[Msg, ...] = (msg("status.none"),)
    else:
        lines = (
            msg("status.title"),
            *(
                msg(
                    "status.line",
                    ref=case.ref,
                    date=short_date(case.created_at),
                    status=msg(f"status.{case.status}"),
                    lieu=case.lieu_name or "",
                )
                for case in ctx.cases[:10]
            ),
        )
    if state.stage in RESTING:
        return Outcome(state=state, replies=(Say(lines=lines),))
    return reask(state, ctx, before=lines)


__all__ = ["MENU", "MENU_EN", "Outcome", "Text", "step"]
