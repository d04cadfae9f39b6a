"""The follow-up flow: after a case is confirmed, check that action really happened.

Rules of this flow:
- A nudge is a question about one case with five answers as buttons: C'est lancé,
  En cours, Pas encore, J'ai besoin d'aide, Relancez-moi plus tard (then 1 week,
  2 weeks, 1 month). Free text is accepted too and kept as the answer.
- Its buttons carry their own data, ``f:<nudge id>:<choice>``, independent of the
  intake's state version: a nudge stays answerable while the person fills a new
  request, and a nudge already answered gets a polite toast and changes nothing.
- Each question recalls the request: the problem in a few words and the
  resources proposed (weeks later, "AIG-0042" alone says nothing). The first one
  mentions contact only to someone who asked for it.
- "C'est lancé" verifies the case: the questions about starting stop. The
  impact questions the community reports on (resources adopted and what they
  replaced, hours saved per month, new contacts; each can be skipped) belong to
  the planned impact nudge: asked straight away when it comes for a verified
  case, or after "C'est lancé" on it. Not right after the first "C'est lancé":
  nothing has changed yet.
- "J'ai besoin d'aide" and silence after the grace period alert a human. After
  "J'ai besoin d'aide", what the person types next goes to that human (who can
  answer with ``repondre``), and the case's later nudges stop: a human has it.
  When nobody can be alerted (no coordinator, no aiguilleur), the person is
  told so instead of being promised an answer.
- A nudge due while the person is in the middle of a new intake waits (up to
  MAX_DEFERRALS hours) instead of cutting in: their typed answers would otherwise
  land in the wrong question. After that it is sent anyway; its buttons work,
  typed text keeps going to the intake, and once the nudge is answered the
  intake's question is asked again (dialogs/intake/engine.py). Only an intake holds a
  nudge back: a proposals message left open is not an intake, and text typed
  there while a nudge is open answers the nudge.
"""

from __future__ import annotations

import re
from datetime import timedelta

from dialogs.kernel.context import Context, NudgeView, Reminder
from dialogs.kernel.dates import short_date
from dialogs.kernel.effects import (
    CaseVerified,
    Effect,
    Escalate,
    ImpactRecorded,
    ImpactStep,
    NudgeAnswered,
    NudgeAsked,
    NudgeCancelled,
    NudgeDeferred,
    NudgeSnoozed,
)
from dialogs.kernel.events import Choice, Event, NudgeDue, NudgeUnanswered, Text
from dialogs.kernel.flow import INTAKE_STAGES
from dialogs.kernel.outcome import Outcome
from dialogs.kernel.replies import Button, Edit, Msg, Reply, Say, msg
from dialogs.kernel.state import Stage, State

NUDGE_KINDS = ("ouverture", "demarrage", "impact")
PREFIX = "f"
CHOICES = ("lance", "cours", "pas", "aide", "plus")
SNOOZE_DAYS = (7, 14, 30)
IMPACT_STEPS = ("ressources", "heures", "contacts")
HOURS = ("0", "1-5", "5-10", "10-20", "20+", "nsp")
CONTACTS = ("0", "1-2", "3-5", "5+")
MAX_DEFERRALS = 8
DEFER_MINUTES = 60
MAX_TEXT = 1500
IMPACT = "impact"
# The problem as recalled by a nudge: its first words.
REMINDER_CHARS = 120
# `NudgeView.impact_step` while the next typed text is for a human (after "aide").
HELP_STEP = "aide"

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# Between two requests: typed text is not an answer to an intake question.
RESTING = frozenset({Stage.IDLE, Stage.PROPOSALS})
CONFIRMATIONS = frozenset({Stage.CONFIRM_CANCEL, Stage.CONFIRM_RESTART})


def data(nudge_id: int, *parts: str | int) -> str:
    return ":".join((PREFIX, str(nudge_id), *(str(p) for p in parts)))


def in_intake(state: State) -> bool:
    """A new request being filled (or a confirmation asked in the middle of one):
    the only thing that holds a nudge back."""
    if state.stage in CONFIRMATIONS:
        return state.resume in INTAKE_STAGES
    return state.stage in INTAKE_STAGES


def handles(state: State | None, event: Event, ctx: Context) -> bool:
    """Whether `event` belongs to the follow-up rather than to the intake."""
    match event:
        case NudgeDue() | NudgeUnanswered():
            return True
        case Choice(data=raw):
            return raw.startswith(f"{PREFIX}:")
        case Text():
            return (
                state is not None
                and state.stage in RESTING
                and ctx.nudge is not None
                and (ctx.nudge.impact_step is not None or ctx.nudge.answer is None)
            )
        case _:
            return False


def step(state: State | None, event: Event, ctx: Context) -> Outcome:
    match event:
        case NudgeDue():
            return due(state, event, ctx)
        case NudgeUnanswered(nudge_id=nudge_id, case_ref=ref):
            escalate = Escalate(ref=ref, reason="silence", nudge_id=nudge_id)
            return Outcome(state=state, effects=(escalate,))
        case Choice(data=raw):
            return pressed(state, raw, ctx)
        case Text(text=text):
            return typed(state, text, ctx)
        case _:
            return Outcome(state=state)


# -- the question -----------------------------------------------------------------


def due(state: State | None, event: NudgeDue, ctx: Context) -> Outcome:
    if state is None:
        # The conversation was erased (consent withdrawn): nobody to ask.
        return Outcome(
            state=None, effects=(NudgeCancelled(nudge_id=event.nudge_id, reason="forgotten"),)
        )
    if in_intake(state) and event.deferrals < MAX_DEFERRALS:
        deferred = NudgeDeferred(nudge_id=event.nudge_id, minutes=DEFER_MINUTES)
        return Outcome(state=state, effects=(deferred,))
    view = NudgeView(
        id=event.nudge_id, ref=event.case_ref, kind=event.kind, reminder=event.reminder
    )
    asked = NudgeAsked(nudge_id=event.nudge_id)
    if view.kind == IMPACT and view.reminder.verified:
        # Action reported as started earlier: straight to the impact questions.
        first = ask_impact(
            view.id, IMPACT_STEPS[0], before=(*recall(view, ctx), msg("followup.impact.intro"))
        )
        start = ImpactStep(nudge_id=view.id, step=IMPACT_STEPS[0])
        return Outcome(state=state, replies=(first,), effects=(asked, start))
    return Outcome(
        state=state,
        replies=(Say(lines=question(view, ctx), buttons=answer_buttons(view.id)),),
        effects=(asked,),
    )


def recall(view: NudgeView, ctx: Context) -> tuple[Msg, ...]:
    """Which request this is about: its ref and lieu, the problem in a few
    words, the resources proposed."""
    lieu = next((c.lieu_name for c in ctx.cases if c.ref == view.ref and c.lieu_name), None)
    intro = (
        msg("followup.intro", ref=view.ref, lieu=lieu)
        if lieu
        else msg("followup.intro.nolieu", ref=view.ref)
    )
    lines = [intro]
    reminder = view.reminder
    if reminder.problem:
        lines.append(msg("followup.recall.problem", problem=excerpt(reminder.problem)))
    if reminder.resources:
        lines.append(msg("followup.recall.resources", resources=reminder.resources))
    return tuple(lines)


def question(view: NudgeView, ctx: Context) -> tuple[Msg, ...]:
    return (*recall(view, ctx), msg(ask_key(view.kind, view.reminder)))


def ask_key(kind: str, reminder: Reminder) -> str:
    """The first question names only what the person was given: resources,
    and contact only if they asked for it."""
    if kind != "ouverture":
        return f"followup.ask.{kind}"
    match bool(reminder.resources), reminder.contact:
        case True, True:
            return "followup.ask.ouverture"
        case True, False:
            return "followup.ask.ouverture.resources"
        case False, True:
            return "followup.ask.ouverture.contact"
    return "followup.ask.ouverture.none"


def excerpt(text: str) -> str:
    """The first words of `text`, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= REMINDER_CHARS:
        return flat
    cut = flat[:REMINDER_CHARS].rsplit(" ", 1)[0]
    return f"{cut}…"


def answer_buttons(nudge_id: int) -> tuple[tuple[Button, ...], ...]:
    def b(choice: str) -> Button:
        return Button(label=msg(f"followup.btn.{choice}"), data=data(nudge_id, choice))

    return ((b("lance"),), (b("cours"), b("pas")), (b("aide"),), (b("plus"),))


def snooze_buttons(nudge_id: int) -> tuple[tuple[Button, ...], ...]:
    days = tuple(
        Button(label=msg(f"followup.snooze.{d}"), data=data(nudge_id, "plus", d))
        for d in SNOOZE_DAYS
    )
    back = Button(label=msg("followup.snooze.back"), data=data(nudge_id, "menu"))
    return (days, (back,))


# -- buttons --------------------------------------------------------------------------


def stale(state: State | None, toast: str = "button.stale") -> Outcome:
    """A press that answers nothing: a toast, and no keyboard touched. Nothing
    tells which message a nudge was sent as, so nothing proves the pressed one
    is old: an unknown or forged id, or an answered nudge's button, may be
    pressed on the live nudge (same rule as the intake: dialogs/intake/engine.py
    `stale`). An answered nudge's own message lost its buttons when answered."""
    return Outcome(state=state, replies=(), toast=msg(toast))


def pressed(state: State | None, raw: str, ctx: Context) -> Outcome:
    _, nudge_text, *parts = raw.split(":")
    view = ctx.nudge
    if state is None or view is None or not parts:
        return stale(state)  # unknown nudge, or a conversation erased meanwhile
    if not nudge_text.isdigit() or view.id != int(nudge_text):
        return stale(state)
    if parts[0] == "i":
        return impact_pressed(state, view, parts[1:], ctx)
    # A typed answer does not close the buttons: the person may still press one.
    if view.answer not in (None, "texte"):
        return stale(state, "followup.already")
    choice, *rest = parts
    lines = question(view, ctx)
    match choice, rest:
        case "plus", []:
            snooze = (*lines, msg("followup.snooze.ask"))
            menu = Edit(lines=snooze, buttons=snooze_buttons(view.id))
            return Outcome(state=state, replies=(menu,))
        case "menu", []:
            again = Edit(lines=lines, buttons=answer_buttons(view.id))
            return Outcome(state=state, replies=(again,))
        case "plus", [days] if days.isdigit() and int(days) in SNOOZE_DAYS:
            label = msg(f"followup.snooze.{days}")
            back = ctx.now + timedelta(days=int(days))
            return Outcome(
                state=state,
                replies=(
                    Edit(lines=(*lines, msg("answer.chosen", label=label))),
                    Say(lines=(msg("followup.snoozed", date=short_date(back)),)),
                ),
                effects=(
                    NudgeAnswered(nudge_id=view.id, answer="plus_tard"),
                    NudgeSnoozed(nudge_id=view.id, days=int(days)),
                ),
            )
        case ("lance" | "cours" | "pas" | "aide") as chosen, []:
            record = Edit(lines=(*lines, msg("answer.chosen", label=msg(f"followup.btn.{chosen}"))))
            return chose(state, view, chosen, record)
    return stale(state)


def chose(state: State | None, view: NudgeView, chosen: str, record: Reply) -> Outcome:
    answered = NudgeAnswered(nudge_id=view.id, answer=chosen)
    match chosen:
        case "lance" if view.kind != IMPACT:
            # Too early to ask what changed: the planned impact nudge will.
            later = (
                "followup.verified.later"
                if view.reminder.impact_later
                else "followup.verified.only"
            )
            bravo = Say(lines=(msg(later, ref=view.ref),))
            verified = CaseVerified(ref=view.ref, nudge_id=view.id)
            return Outcome(state=state, replies=(record, bravo), effects=(answered, verified))
        case "lance":
            first = ask_impact(view.id, IMPACT_STEPS[0], before=(msg("followup.verified"),))
            effects: tuple[Effect, ...] = (
                answered,
                CaseVerified(ref=view.ref, nudge_id=view.id),
                ImpactStep(nudge_id=view.id, step=IMPACT_STEPS[0]),
            )
            return Outcome(state=state, replies=(record, first), effects=effects)
        case "aide":
            escalate = Escalate(ref=view.ref, reason="help", nudge_id=view.id)
            if not view.reachable:
                # Recorded on the case all the same; what they type next is kept there.
                nobody = Say(lines=(msg("followup.help_nobody", ref=view.ref),))
                return Outcome(state=state, replies=(record, nobody), effects=(answered, escalate))
            help_ack = Say(lines=(msg("followup.help_ack", ref=view.ref),))
            listen = ImpactStep(nudge_id=view.id, step=HELP_STEP)
            return Outcome(
                state=state, replies=(record, help_ack), effects=(answered, escalate, listen)
            )
        case _:
            noted = Say(lines=(msg(f"followup.noted.{chosen}"),))
            return Outcome(state=state, replies=(record, noted), effects=(answered,))


# -- impact questions -------------------------------------------------------------


def ask_impact(nudge_id: int, step_name: str, before: tuple[Msg, ...] = ()) -> Say:
    def b(label: Msg, value: str) -> Button:
        return Button(label=label, data=data(nudge_id, "i", step_name, value))

    skip = b(msg("followup.impact.skip"), "skip")
    rows: tuple[tuple[Button, ...], ...]
    match step_name:
        case "heures":
            values = [b(msg(f"followup.impact.heures.{v}"), v) for v in HOURS]
            rows = (tuple(values[:3]), tuple(values[3:]), (skip,))
        case "contacts":
            values = [b(msg(f"followup.impact.contacts.{v}"), v) for v in CONTACTS]
            rows = (tuple(values), (skip,))
        case _:
            rows = ((skip,),)
    return Say(lines=(*before, msg(f"followup.impact.{step_name}.ask")), buttons=rows)


def impact_pressed(state: State | None, view: NudgeView, parts: list[str], ctx: Context) -> Outcome:
    if len(parts) != 2 or parts[0] not in IMPACT_STEPS or parts[0] != view.impact_step:
        return stale(state)
    step_name, value = parts
    allowed = {"heures": HOURS, "contacts": CONTACTS}.get(step_name, ())
    if value == "skip":
        label = msg("followup.impact.skip")
        recorded: dict[str, object] | None = None
    elif value in allowed:
        label = msg(f"followup.impact.{step_name}.{value}")
        recorded = {"range": value}
    else:
        return stale(state)
    shown = Edit(lines=(msg(f"followup.impact.{step_name}.ask"), msg("answer.chosen", label=label)))
    return advance(state, view, step_name, recorded, shown)


def advance(
    state: State | None,
    view: NudgeView,
    step_name: str,
    recorded: dict[str, object] | None,
    shown: Reply | None,
) -> Outcome:
    effects: list[Effect] = []
    if recorded is not None:
        effects.append(ImpactRecorded(nudge_id=view.id, field=step_name, value=recorded))
    index = IMPACT_STEPS.index(step_name)
    following = IMPACT_STEPS[index + 1] if index + 1 < len(IMPACT_STEPS) else None
    effects.append(ImpactStep(nudge_id=view.id, step=following))
    if following is None and view.answer is None:
        # The impact nudge of a verified case: these answers were its answer.
        effects.append(NudgeAnswered(nudge_id=view.id, answer=IMPACT))
    nxt = (
        ask_impact(view.id, following)
        if following
        else Say(lines=(msg("followup.impact.done", ref=view.ref),))
    )
    replies = (shown, nxt) if shown is not None else (nxt,)
    return Outcome(state=state, replies=replies, effects=tuple(effects))


# -- free text ----------------------------------------------------------------------


def clean(text: str) -> str:
    return _CONTROL.sub("", text).strip()[:MAX_TEXT]


def typed(state: State | None, text: str, ctx: Context) -> Outcome:
    view = ctx.nudge
    assert view is not None  # `handles` checked it
    cleaned = clean(text)
    if not cleaned:
        return Outcome(state=state)
    length = len(_CONTROL.sub("", text).strip())
    if length > MAX_TEXT:
        # Refused, not cut: the person would not know what was lost.
        too_long = msg("input.too_long", length=length, maximum=MAX_TEXT)
        return Outcome(state=state, replies=(Say(lines=(too_long,)),))
    if view.impact_step is None:
        noted = Say(lines=(msg("followup.text_noted", ref=view.ref),))
        answered = NudgeAnswered(nudge_id=view.id, answer="texte", text=cleaned)
        return Outcome(state=state, replies=(noted,), effects=(answered,))
    step_name = view.impact_step
    if step_name == HELP_STEP:
        forwarded = Say(lines=(msg("followup.help_forwarded", ref=view.ref),))
        effects: tuple[Effect, ...] = (
            Escalate(ref=view.ref, reason="help_text", nudge_id=view.id, text=cleaned),
            ImpactStep(nudge_id=view.id, step=None),
        )
        return Outcome(state=state, replies=(forwarded,), effects=effects)
    if step_name == "ressources":
        return advance(state, view, step_name, {"text": cleaned}, None)
    number = _NUMBER.search(cleaned)
    if step_name == "heures":
        if number is None:
            again = ask_impact(view.id, step_name, before=(msg("followup.impact.heures.invalid"),))
            return Outcome(state=state, replies=(again,))
        return advance(state, view, step_name, {"value": to_number(number.group())}, None)
    value: dict[str, object] = {"text": cleaned}
    if number is not None:
        value["value"] = to_number(number.group())
    return advance(state, view, step_name, value, None)


def to_number(text: str) -> int | float:
    value = float(text.replace(",", "."))
    return int(value) if value.is_integer() else value
