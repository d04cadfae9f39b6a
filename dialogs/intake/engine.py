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
from collections.abc import Callable

from dialogs.assignment import relay
from dialogs.assignment.commands import COMMANDS as DESK_COMMANDS
from dialogs.assignment.commands import PREFIX as MATRIX_PREFIX
from dialogs.coordination.commands import COMMANDS as COORDINATION_COMMANDS
from dialogs.followup import steps as followup
from dialogs.intake import bursts
from dialogs.intake.commands import COMMANDS, PREFIX, help_text
from dialogs.intake.proposals import CONTACT_HELP, proposals_draft
from dialogs.intake.sheet import display
from dialogs.intake.table import QUESTIONS, previous
from dialogs.kernel.commands import Domain, Misused, Parsed, parse, parse_command, usage
from dialogs.kernel.context import Context
from dialogs.kernel.dates import short_date
from dialogs.kernel.effects import Effect, RequestContact, SetLocale
from dialogs.kernel.events import (
    Attachment,
    CaseCreated,
    Choice,
    Command,
    ContactRouted,
    Event,
    Location,
    NudgeDue,
    NudgeUnanswered,
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
from dialogs.kernel.i18n import LOCALES, supported, words
from dialogs.kernel.outcome import Outcome
from dialogs.kernel.replies import Button, ClearButtons, Echo, Edit, Msg, Reply, Say, msg
from dialogs.kernel.state import Stage, State
from dialogs.kernel.textnorm import fold
from dialogs.privacy import steps as privacy
from dialogs.privacy.commands import EXPORT, FORGET

# /langue: one button per language; the data is not versioned (choosing again is
# harmless), so the buttons stay valid whatever happens to the conversation.
LANGUAGE_PREFIX = "lang:"
LANGUAGES = (("fr", "language.fr"), ("en", "language.en"))
# Stages between requests: the person is not answering intake questions.
RESTING = frozenset({Stage.IDLE, Stage.PROPOSALS})


def step(state: State | None, event: Event, ctx: Context) -> Outcome:
    outcome = flow_step(state, event, ctx)
    new = outcome.state
    if new is not None and new.burst and new.burst is not (state.burst if state else None):
        return outcome  # a long text just answered: more parts may follow
    return dataclasses.replace(outcome, state=bursts.forget(new))


def flow_step(state: State | None, event: Event, ctx: Context) -> Outcome:
    if isinstance(event, Text) and state is not None and relay.handles(state, event, ctx):
        # To the aiguilleur; a long text in parts is joined first, so a refused
        # first part is never followed by its tail alone.
        return with_parts(state, event, ctx, relay.step)
    if relay.handles(state, event, ctx):
        # A case held by an aiguilleur: the person talks to them (dialogs/assignment/relay.py).
        return relay.step(state, event, ctx)
    if followup.handles(state, event, ctx):
        # Nudges and their buttons have their own flow (dialogs/followup/steps.py).
        return after_nudge(state, event, followup.step(state, event, ctx), ctx)
    if isinstance(event, Choice) and event.data.startswith(LANGUAGE_PREFIX):
        return choose_language(state, event.data.removeprefix(LANGUAGE_PREFIX), ctx)
    if state is None:
        return first_contact(event, ctx)
    match event:
        case Command():
            return command(state, event, ctx)
        case Choice(data=data, message=message):
            version, _, action = data.partition(":")
            if not version.isdigit() or int(version) != state.version or not action:
                return stale(state, version, message)
            return answer(state, Picked(action=action, message=message), ctx)
        case Text():
            elsewhere = not_theirs(event.text)
            if elsewhere is not None:
                return reask(state, ctx, before=(elsewhere,))
            return answer_text(state, event, ctx)
        case Location():
            return answer(state, event, ctx)
        case Attachment(kind=kind):
            reason = msg("input.unsupported", kind=msg(f"attachment.{kind.value}"))
            return retry(state, reason, ctx, from_button=False)
        case CaseCreated(ref=ref, resources=resources, aiguilleurs=people):
            created = Say(lines=(msg("case.created", ref=ref),))
            # Contact chosen as the help wanted: asked for now, not asked again.
            asked = CONTACT_HELP in (state.answers.get("help") or ())
            effects: tuple[Effect, ...] = (RequestContact(ref=ref),) if asked else ()
            if not resources and not people:
                return Outcome(state=state, replies=(created,), effects=effects)
            draft = proposals_draft(event, contact_asked=asked)
            proposing = dataclasses.replace(state, draft=draft)
            return enter(proposing, Stage.PROPOSALS, ctx, replies=(created,), effects=effects)
        case ContactRouted(ref=ref, to=to):
            return Outcome(state=state, replies=(Say(lines=(contact_routed(ref, to),)),))
        case NudgeDue() | NudgeUnanswered():
            # Taken by `followup.handles` above; nothing to do if one ever got here.
            return Outcome(state=state)


def contact_routed(ref: str, to: str) -> Msg:
    """What the person is told once their contact request went somewhere (or nowhere)."""
    if to == "desk":
        return msg("proposals.contact_requested")
    if to == "coordinators":
        return msg("contact.routed.coordinators", ref=ref)
    if to == "queued":
        return msg("contact.routed.queued", ref=ref)
    return msg("contact.routed.nobody", ref=ref)


def stale(state: State, version: str, message: str | None) -> Outcome:
    """A press that is not for the current question: a toast, nothing changes.
    Its keyboard is cleared only when it surely is an old one: a well-formed
    older version, on a message sent before the current question (the one whose
    button led here, or an older one), and not the message last redrawn in place
    (a double tap's second press arrives after the first redrew that message:
    its buttons are the live ones). Anything else, a forged press included,
    touches no keyboard."""
    older = version.isdigit() and int(version) < state.version
    live = message is not None and message == state.live_message
    replies: tuple[Reply, ...] = (
        (ClearButtons(),) if older and not live and sent_before(message, state) else ()
    )
    return Outcome(state=state, replies=replies, toast=msg("button.stale"))


def sent_before(message: str | None, state: State) -> bool:
    """Whether `message` is no newer than the one whose button led to the current
    question (transports number a chat's messages in order)."""
    mark = state.answered_from
    if message is None or mark is None or not message.isdigit() or not mark.isdigit():
        return False
    return int(message) <= int(mark)


def after_nudge(state: State | None, event: Event, outcome: Outcome, ctx: Context) -> Outcome:
    """A nudge answered by button in the middle of an intake: its new messages
    pushed the intake's question out of sight, so it is asked again (same
    version: its buttons stay valid)."""
    if (
        state is None
        or outcome.state is None
        or not isinstance(event, Choice)
        or not followup.in_intake(outcome.state)
        or not any(isinstance(r, Say) for r in outcome.replies)
    ):
        return outcome
    again = reask(outcome.state, ctx)
    return dataclasses.replace(outcome, replies=(*outcome.replies, *again.replies))


def first_contact(event: Event, ctx: Context) -> Outcome:
    fresh = State(locale=supported(ctx.locale_hint))
    if isinstance(event, Choice):
        # A button from a conversation we forgot (consent refused, erased).
        return Outcome(state=None, replies=(ClearButtons(),), toast=msg("button.stale"))
    if is_command(event, EXPORT) or is_command(event, FORGET):
        return privacy.nothing_stored()
    if is_command(event, "statut"):
        # Nothing stored (never started, or erased by /oublier): say so, keep nothing.
        return Outcome(state=None, replies=(Say(lines=(msg("status.nothing_stored"),)),))
    if is_command(event, "langue"):
        return Outcome(state=None, replies=(language_question(),))
    before = help_text() if is_command(event, "aide") else ()
    return enter(fresh, Stage.WELCOME, ctx, before=before)


def is_command(event: Event, name: str) -> bool:
    return isinstance(event, Command) and command_name(event) == name


def not_theirs(text: str) -> Msg | None:
    """A command typed as in a Matrix room (``!accepter AIG-0042``) is no answer
    to a question: an aiguilleur's is said to be theirs, in Matrix; a person's
    or a coordinator's is shown as typed here (whether this person may type a
    coordinator's is the router's to say, if they do)."""
    read = parse(text, MATRIX_PREFIX, COMMANDS, COORDINATION_COMMANDS, DESK_COMMANDS)
    if not isinstance(read, Parsed | Misused):
        return None
    if read.domain == Domain.DESK:
        return msg("command.desk_elsewhere", usage=usage(read.spec, MATRIX_PREFIX))
    return msg("command.slash", usage=usage(read.spec, PREFIX))


def command_name(cmd: Command) -> str | None:
    """The canonical name of a person's command (``/Help``, ``/aide@bot`` → ``aide``),
    read by the kernel's grammar; None for a word they have no command for."""
    read = parse_command(cmd.name, cmd.args, COMMANDS)
    return read.name if isinstance(read, Parsed) else None


def enter(
    state: State,
    stage: Stage,
    ctx: Context,
    before: tuple[Msg, ...] = (),
    replies: tuple[Reply, ...] = (),
    effects: tuple[Effect, ...] = (),
) -> Outcome:
    """Move to `stage` and ask its question (one code path for every entry)."""
    entered = dataclasses.replace(
        state, stage=stage, version=state.version + 1, live_message=None, answered_from=None
    )
    if stage == Stage.SUMMARY:
        # Every edit ends on the summary: from here on, answers follow the flow again.
        entered = dataclasses.replace(entered, editing=False)
        if state.editing and state.sheet_message:
            return sheet_updated(entered, state.sheet_message, ctx, before, replies, effects)
    elif not entered.editing and stage != Stage.EDIT_PICK:
        entered = dataclasses.replace(entered, sheet_message=None)
    lines: tuple[Msg, ...] = before
    buttons: tuple[tuple[Button, ...], ...] = ()
    if stage != Stage.IDLE:
        prompt = QUESTIONS[stage].ask(entered, ctx)
        lines, buttons = (*before, *prompt.lines), prompt.buttons
    said = (Say(lines=lines, buttons=buttons),) if lines else ()
    return Outcome(state=entered, replies=(*replies, *said), effects=effects)


def sheet_updated(
    state: State,
    message: str,
    ctx: Context,
    before: tuple[Msg, ...],
    replies: tuple[Reply, ...],
    effects: tuple[Effect, ...],
) -> Outcome:
    """After an edit: the summary the person pressed "edit" on is updated in place
    (its buttons back), and a short line says so, instead of a new sheet. The
    line has no buttons: the sheet's own stay the ones to press."""
    prompt = QUESTIONS[Stage.SUMMARY].ask(state, ctx)
    in_place = Edit(lines=prompt.lines, buttons=prompt.buttons, message=message)
    said = Say(lines=(*before, msg("summary.updated")))
    return Outcome(state=state, replies=(*replies, in_place, said), effects=effects)


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
        case Next(state=accepted, to=to, effects=effects, before=before, shown=label):
            record: tuple[Reply, ...] = ()
            if isinstance(inp, Picked):
                record = (answered_in_place(state, inp.action, ctx, label),)
            elif (echo := typed_echo(state, result, ctx)) is not None:
                record = (echo,)
            moved = enter(accepted, to, ctx, before=before, replies=record, effects=effects)
            if isinstance(inp, Picked) and moved.state is not None:
                # The next question is sent after the message pressed.
                came_from = dataclasses.replace(moved.state, answered_from=inp.message)
                return dataclasses.replace(moved, state=came_from)
            return moved
        case Redraw(state=changed, effects=effects):
            # Redrawn in place from a button: that message keeps the live buttons.
            live = inp.message if isinstance(inp, Picked) else None
            redrawn = dataclasses.replace(changed, version=changed.version + 1, live_message=live)
            prompt = prompt_of(redrawn, ctx)
            reply: Reply = (
                Edit(
                    lines=prompt.lines,
                    buttons=prompt.buttons,
                    prior=prompt_of(state, ctx).lines,
                )
                if from_button
                else Say(lines=prompt.lines, buttons=prompt.buttons)
            )
            return Outcome(state=redrawn, replies=(reply,), effects=effects)
        case Retry(reason=reason):
            return retry(state, reason, ctx, from_button)
        case Leave(farewell=farewell, effects=effects):
            cleared: tuple[Reply, ...] = (ClearButtons(),) if from_button else ()
            return Outcome(state=None, replies=(*cleared, Say(lines=(farewell,))), effects=effects)


def answer_text(state: State, text: Text, ctx: Context) -> Outcome:
    """A typed answer; the continuation of a long one a moment ago is joined to
    it and answers the same question (dialogs/intake/bursts.py)."""
    return with_parts(state, text, ctx, answer)


def with_parts(
    state: State, text: Text, ctx: Context, handle: Callable[[State, Text, Context], Outcome]
) -> Outcome:
    """`handle` the text, joined to the long one it continues if any; remember
    it if more parts may follow (accepted: the state moved on or it was relayed)."""
    follow = bursts.continuation(state, text, ctx)
    base, whole = follow if follow is not None else (state, text.text)
    outcome = handle(base, Text(text=whole, sent_at=text.sent_at) if follow else text, ctx)
    if follow is not None:
        outcome = dataclasses.replace(outcome, replies=noted(outcome.replies))
    accepted = outcome.state is not base or bool(outcome.effects)
    kept = bursts.remembered(base, outcome.state, text, whole, accepted, ctx)
    return dataclasses.replace(outcome, state=kept)


def noted(replies: tuple[Reply, ...]) -> tuple[Reply, ...]:
    """Say first that the parts were put together."""
    note = msg("input.joined")
    for index, reply in enumerate(replies):
        if isinstance(reply, Say):
            merged = Say(lines=(note, *reply.lines), buttons=reply.buttons)
            return (*replies[:index], merged, *replies[index + 1 :])
    return (Say(lines=(note,)), *replies)


TOGGLED = {Stage.THEMES: "themes", Stage.THEMES_CONFIRM: "themes", Stage.HELP: "help"}


def typed_echo(state: State, typed: Next, ctx: Context) -> Echo | None:
    """A typed answer to a question with buttons, as understood: the label of
    the button that does the same, or the options read in the text."""
    prompt = prompt_of(state, ctx)
    if not prompt.buttons:
        return None
    if typed.shown is not None:
        return Echo(label=typed.shown)
    question = QUESTIONS[state.stage]
    for row in prompt.buttons:
        for b in row:
            action = b.data.partition(":")[2]
            if question.answer(state, Picked(action=action), ctx) == typed:
                return Echo(label=b.label)
    field = TOGGLED.get(state.stage)
    if field is not None and field in typed.state.answers:
        return Echo(label=display(typed.state.answers, field))
    return None


def answered_in_place(
    state: State, action: str, ctx: Context, shown: Msg | tuple[Msg, ...] | None = None
) -> Reply:
    """Turn the question the person answered by button into a record of the
    answer: same text, the answer below (`shown`, else the label pressed), no
    buttons left to press."""
    label = shown if shown is not None else chosen_label(state, action, ctx)
    if label is None:
        return ClearButtons()
    asked = prompt_of(state, ctx).lines
    return Edit(lines=(*asked, msg("answer.chosen", label=label)), prior=asked)


# -- commands ----------------------------------------------------------------


def command(state: State, cmd: Command, ctx: Context) -> Outcome:
    name = command_name(cmd)
    in_intake = state.stage in INTAKE_STAGES
    match name:
        case "start":
            if not state.consented:
                return enter(state, Stage.WELCOME, ctx)
            if state.stage in RESTING:
                return new_request(state, ctx)
            return reask(state, ctx, before=(msg("start.resume"),))
        case "aide":
            return reask(state, ctx, before=help_text())
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
        case "langue":
            # "/langue en", "/language français": chosen at once.
            typed = [c for c, _ in LANGUAGES if fold(cmd.args) in words(f"words.language.{c}")]
            if cmd.args.strip() and typed:
                return choose_language(state, typed[0], ctx)
            return Outcome(state=state, replies=(language_question(),))
        case "oublier":
            if state.stage == Stage.CONFIRM_FORGET:
                return reask(state, ctx)
            resume = state.resume if state.stage in privacy.CONFIRMING else state.stage
            asking = dataclasses.replace(state, resume=resume)
            return enter(asking, Stage.CONFIRM_FORGET, ctx)
        case _:
            unknown = msg("command.unknown", name=cmd.name[:32])
            return reask(state, ctx, before=(unknown,))


def language_question() -> Say:
    rows = tuple(
        (Button(label=msg(key), data=f"{LANGUAGE_PREFIX}{code}"),) for code, key in LANGUAGES
    )
    return Say(lines=(msg("language.ask"),), buttons=rows)


def choose_language(state: State | None, code: str, ctx: Context) -> Outcome:
    """The conversation goes on in the chosen language: the choice is recorded
    (rendered in the new language, as everything in this outcome) and the
    current question asked again in it."""
    if code not in LOCALES:
        return Outcome(state=state, replies=(ClearButtons(),), toast=msg("button.stale"))
    chosen = Edit(lines=(msg("language.ask"), msg("language.set")))
    effects: tuple[Effect, ...] = (SetLocale(locale=code),) if state and state.consented else ()
    if state is None:
        return enter(State(locale=code), Stage.WELCOME, ctx, replies=(chosen,))
    changed = dataclasses.replace(state, locale=code)
    if changed.stage in RESTING:
        return Outcome(state=changed, replies=(chosen,), effects=effects)
    asked = reask(changed, ctx)
    return dataclasses.replace(asked, replies=(chosen, *asked.replies), effects=effects)


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


__all__ = ["Outcome", "Text", "step"]
