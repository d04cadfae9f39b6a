"""Who helps with a case: offers, answers, time-outs, the queue, and what each
side is told. Pure decisions: the Matrix runtime (bot/assignment/desk.py) loads the
views, calls these functions and carries out the effects in one unit of work.

Rules:
- A case that asks for a person is offered to one aiguilleur at a time: the
  best ranked by `dialogs.catalog.matching` (available, skills, région, load below
  capacity, rotation) among those who have a room with the bot and were never
  offered this case before.
- The aiguilleur accepts (``!accepter`` or 👍 on the offer) or declines
  (``!refuser`` or 👎). No answer before the deadline → the next candidate.
- Nobody left with room → the case waits in the queue and the coordinators are
  told once; the queue is served whenever someone frees up or comes back.
- Only the aiguilleur who holds an offer or a case may act on it; anyone else
  gets the same refusal whether the case exists or not.
- While an aiguilleur holds a case, they speak to the person in the offer's
  thread; each side sees who speaks, and only display names travel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dialogs.assignment.commands import COMMANDS, PREFIX
from dialogs.assignment.relay import MAX_TEXT as MAX_RELAYED
from dialogs.assignment.relay import buttons as relay_buttons
from dialogs.catalog.matching.model import AiguilleurCandidate
from dialogs.catalog.matching.people import rank_aiguilleurs
from dialogs.coordination.commands import COMMANDS as COORDINATION_COMMANDS
from dialogs.intake.sheet import sheet_lines
from dialogs.kernel.commands import (
    SWITCH,
    Misused,
    Parsed,
    Read,
    Role,
    Unknown,
    help_lines,
    misused_lines,
    parsed,
)
from dialogs.kernel.context import RelayView
from dialogs.kernel.lifecycles import AssignmentState, CaseStatus
from dialogs.kernel.replies import Button, Msg, msg

OFFERED = AssignmentState.OFFERED
ACCEPTED = AssignmentState.ACCEPTED
THUMBS_UP = "👍"
THUMBS_DOWN = "👎"
# Variation selector and skin tones: 👍🏽 is still a 👍.
_MODIFIERS = dict.fromkeys([0xFE0F, *range(0x1F3FB, 0x1F400)])


# -- what the runtime loads ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ActorView:
    """The aiguilleur who typed or reacted (None in `DeskContext` for anyone else)."""

    id: str
    name: str
    available: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseView:
    ref: str
    status: str
    lieu_name: str | None = None
    person_name: str | None = None
    themes: tuple[str, ...] = ()
    region: str | None = None
    # Sheet answers in the intake's shape, for `dialogs.intake.sheet.sheet_lines`.
    answers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentView:
    id: int
    ref: str
    aiguilleur_id: str
    aiguilleur_name: str
    state: str
    room_id: str
    # The offer event, root of the case's thread (None until the offer is sent).
    thread_root: str | None = None
    deadline: datetime | None = None
    contacts_shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskContext:
    now: datetime
    room_id: str
    thread_root: str | None = None
    actor: ActorView | None = None
    case: CaseView | None = None
    # The case's assignment concerned: the open one, or the one whose offer or
    # thread the event relates to.
    assignment: AssignmentView | None = None
    # The actor's open assignments with their cases (for !mes-dossiers).
    mine: tuple[tuple[AssignmentView, CaseView], ...] = ()
    # Who typed (their Matrix id), for the command log.
    sender: str = ""


# -- what the runtime does --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ToRoom:
    room_id: str
    thread_root: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToCoordinators:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ToPerson:
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Tell:
    to: ToRoom | ToCoordinators | ToPerson
    lines: tuple[Msg, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    # Text typed by a person, shown as a message rather than a bot notice.
    relayed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    ref: str
    aiguilleur_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Queue:
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Move:
    assignment_id: int
    to: AssignmentState
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStatus:
    """A move of the case's status, recorded on its timeline as `kind` by `actor`."""

    ref: str
    status: CaseStatus
    actor: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """An entry on the case's timeline."""

    ref: str
    actor: str
    kind: str
    text: str | None = None
    # Length of a relayed message: the timeline keeps who, when and how long,
    # never the words (they travel between the two people only).
    size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAvailable:
    aiguilleur_id: str
    available: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FindAiguilleur:
    """Offer the case to the next candidate, or queue it (see `offer_or_queue`)."""

    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Drain:
    """Someone may have room now: serve the queue."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkShared:
    assignment_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelNudges:
    """The case is over: its planned follow-up nudges are cancelled."""

    ref: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    """A command refused to `sender` (a stranger, or an aiguilleur on a case
    that is not theirs): noted in the command log like every refusal."""

    command: str
    sender: str
    ref: str | None = None


DeskEffect = (
    Tell
    | Offer
    | Queue
    | Move
    | SetStatus
    | Note
    | SetAvailable
    | FindAiguilleur
    | Drain
    | MarkShared
    | CancelNudges
    | Refused
)
Effects = tuple[DeskEffect, ...]


# -- choosing -------------------------------------------------------------------------


def choose(
    case: CaseView,
    candidates: Sequence[AiguilleurCandidate],
    tried: set[str],
    with_room: set[str],
) -> str | None:
    """The best aiguilleur for `case` who can be reached and never had it."""
    eligible = [
        c
        for c in candidates
        if not c.profile.demo and c.profile.id in with_room and c.profile.id not in tried
    ]
    ranked = rank_aiguilleurs(eligible, case.themes, case.region, limit=1)
    return ranked[0].id if ranked else None


def offer_or_queue(
    case: CaseView,
    candidates: Sequence[AiguilleurCandidate],
    tried: set[str],
    with_room: set[str],
    waiting: bool,
) -> Effects:
    chosen = choose(case, candidates, tried, with_room)
    if chosen is not None:
        return (Offer(ref=case.ref, aiguilleur_id=chosen),)
    if waiting:
        return ()
    told = Tell(to=ToCoordinators(), lines=(msg("desk.queued", ref=case.ref, lieu=lieu(case)),))
    return (Queue(ref=case.ref), told)


def lieu(case: CaseView) -> str | Msg:
    return case.lieu_name or msg("sheet.missing")


def delay(span: timedelta) -> Msg:
    """``24 h``, ``1 h 30``, ``45 min``."""
    minutes = max(int(span.total_seconds() // 60), 1)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return msg("desk.delay.minutes", minutes=rest)
    if not rest:
        return msg("desk.delay.hours", hours=hours)
    return msg("desk.delay.both", hours=hours, minutes=rest)


def offer_lines(case: CaseView, timeout: timedelta) -> tuple[Msg, ...]:
    """The offer's delay counts from its posting, which the text cannot date
    (the homeserver may be away when it is written): it says how long."""
    return (
        msg("desk.offer.title", ref=case.ref, lieu=lieu(case)),
        msg("desk.offer.person", name=case.person_name or msg("desk.someone")),
        *sheet_lines(case.answers, third_person=True),
        msg("desk.offer.how", ref=case.ref, delay=delay(timeout)),
    )


# -- events ---------------------------------------------------------------------------


def here(ctx: DeskContext, *lines: Msg) -> Tell:
    return Tell(to=ToRoom(room_id=ctx.room_id, thread_root=ctx.thread_root), lines=lines)


def on_command(command: Read, ctx: DeskContext) -> Effects:
    """An aiguilleur's command (`Unknown`: a word no vocabulary of the room knows)."""
    if isinstance(command, Unknown):
        return (here(ctx, msg("desk.unknown_command", word=command.word)),)
    if isinstance(command, Misused):
        return (here(ctx, *misused_lines(command, PREFIX)),)
    if command.name == "aide":
        return (here(ctx, *aiguilleur_help()),)
    actor = ctx.actor
    if actor is None:
        refused = Refused(command=command.name, sender=ctx.sender, ref=command.ref)
        return (here(ctx, msg("desk.stranger")), refused)
    match command.name:
        case "dispo":
            on = command.get(SWITCH)
            change = SetAvailable(aiguilleur_id=actor.id, available=on)
            said = here(ctx, msg("desk.dispo.on" if on else "desk.dispo.off"))
            return (change, said, Drain()) if on else (change, said)
        case "mes-dossiers":
            return (here(ctx, *mine_lines(ctx)),)
    return on_case(command, actor, ctx)


def aiguilleur_help() -> tuple[Msg, ...]:
    """``!aide``: the commands that need the aiguilleur role, generated from the
    desk's vocabulary and the coordination's (``!intervention``), then the word
    on reactions and threads."""
    lines = help_lines(Role.AIGUILLEUR, PREFIX, COMMANDS, COORDINATION_COMMANDS, exact=True)
    return (msg("desk.help.title"), *lines, msg("desk.help.react"))


def on_case(command: Parsed, actor: ActorView, ctx: DeskContext) -> Effects:
    ref = command.ref or ""
    held = ctx.assignment
    case = ctx.case
    if case is None or held is None or held.aiguilleur_id != actor.id or held.ref != ref:
        return not_yours(command, ctx)
    match command.name, held.state:
        case "accepter", AssignmentState.OFFERED:
            return accept(held, actor, case)
        case "accepter", AssignmentState.ACCEPTED:
            return (here(ctx, msg("desk.already_yours", ref=ref)),)
        case "refuser", AssignmentState.OFFERED:
            return decline(held, actor, command.text, ctx)
        case "refuser", _:
            return (here(ctx, msg("desk.use_rendre", ref=ref)),)
        case "dossier", _:
            return (here(ctx, *case_lines(case, held)),)
        case _, AssignmentState.OFFERED:
            return (here(ctx, msg("desk.accept_first", ref=ref)),)
        case "note", _:
            note = Note(ref=ref, actor=actor.id, kind="note", text=command.text)
            return (note, here(ctx, msg("desk.noted", ref=ref)))
        case "action", _:
            verified = CaseStatus.VERIFIED
            return (
                SetStatus(ref=ref, status=verified, actor=actor.id, kind="action_verified"),
                here(ctx, msg("desk.action_ok", ref=ref)),
            )
        case "clore", _:
            return finish(held, actor, ctx, AssignmentState.CLOSED, CaseStatus.CLOSED)
        case "rendre", _:
            return finish(held, actor, ctx, AssignmentState.RETURNED, CaseStatus.WAITING)
    return not_yours(command, ctx)


def not_yours(command: Parsed, ctx: DeskContext) -> Effects:
    """The same answer whether the case exists or not; logged as a refusal."""
    ref = command.ref or ""
    refused = Refused(command=command.name, sender=ctx.sender, ref=command.ref)
    return (here(ctx, msg("desk.not_yours", ref=ref)), refused)


def accept(held: AssignmentView, actor: ActorView, case: CaseView) -> Effects:
    view = RelayView(assignment_id=held.id, ref=held.ref, aiguilleur_name=actor.name)
    in_thread = ToRoom(room_id=held.room_id, thread_root=held.thread_root)
    # A verified action stays counted as such (the table has no way back to "attribue").
    status: SetStatus | Note = (
        Note(ref=held.ref, actor=actor.id, kind="accepted")
        if case.status == CaseStatus.VERIFIED
        else SetStatus(ref=held.ref, status=CaseStatus.ASSIGNED, actor=actor.id, kind="accepted")
    )
    return (
        Move(assignment_id=held.id, to=ACCEPTED),
        status,
        Tell(
            to=ToPerson(ref=held.ref),
            lines=(msg("relay.accepted", name=actor.name, ref=held.ref),),
            buttons=relay_buttons(view),
        ),
        Tell(to=in_thread, lines=(msg("desk.accepted", ref=held.ref, person=person(case)),)),
    )


def decline(
    held: AssignmentView, actor: ActorView, reason: str | None, ctx: DeskContext
) -> Effects:
    return (
        Move(assignment_id=held.id, to=AssignmentState.DECLINED, reason=reason),
        Note(ref=held.ref, actor=actor.id, kind="declined", text=reason),
        here(ctx, msg("desk.declined", ref=held.ref)),
        FindAiguilleur(ref=held.ref),
        Drain(),
    )


def finish(
    held: AssignmentView,
    actor: ActorView,
    ctx: DeskContext,
    to: AssignmentState,
    status: CaseStatus,
) -> Effects:
    """Close (`closed`) or hand back (`returned`) an accepted case."""
    told_person = msg(f"relay.{to.value}", name=actor.name, ref=held.ref)
    effects: list[DeskEffect] = [
        Move(assignment_id=held.id, to=to),
        SetStatus(ref=held.ref, status=status, actor=actor.id, kind=to.value),
        here(ctx, msg(f"desk.{to.value}", ref=held.ref)),
        Tell(to=ToPerson(ref=held.ref), lines=(told_person,)),
    ]
    if to == AssignmentState.RETURNED:
        effects.append(FindAiguilleur(ref=held.ref))
    else:
        # Closed, as by a coordinator's ``clore``: no more nudges planned.
        effects.append(CancelNudges(ref=held.ref, reason="closed"))
    effects.append(Drain())
    return tuple(effects)


def on_reaction(key: str, ctx: DeskContext) -> Effects:
    """👍 / 👎 on an offer answer it like !accepter / !refuser; others are ignored."""
    held = ctx.assignment
    meaning = {THUMBS_UP: "accepter", THUMBS_DOWN: "refuser"}.get(plain_emoji(key))
    if meaning is None or held is None:
        return ()
    return on_command(parsed(COMMANDS[meaning], ref=held.ref), ctx)


def plain_emoji(key: str) -> str:
    return key.translate(_MODIFIERS).strip()


def on_thread_text(text: str, ctx: DeskContext) -> Effects:
    """Text in a case's thread: relayed to the person when written by the
    aiguilleur who holds the case."""
    held = ctx.assignment
    actor = ctx.actor
    if held is None:
        return ()
    if actor is None or actor.id != held.aiguilleur_id:
        return (here(ctx, msg("desk.not_yours", ref=held.ref)),)
    if held.state == OFFERED:
        return (here(ctx, msg("desk.accept_first", ref=held.ref)),)
    if held.state != ACCEPTED:
        return (here(ctx, msg("desk.relay_over", ref=held.ref)),)
    if len(text) > MAX_RELAYED:
        return (here(ctx, msg("desk.too_long", length=len(text), maximum=MAX_RELAYED)),)
    said = msg("relay.from_aiguilleur", name=actor.name, ref=held.ref, text=text)
    return (
        Tell(to=ToPerson(ref=held.ref), lines=(said,), relayed=True),
        Note(ref=held.ref, actor=actor.id, kind="relay_message", size=len(text)),
    )


def on_main_text(ctx: DeskContext) -> Effects:
    """Text outside any thread in an aiguilleur's own room: show the way."""
    if ctx.actor is None:
        return ()
    return (here(ctx, msg("desk.where_to_write")),)


def on_timeout(held: AssignmentView) -> Effects:
    return (
        Move(assignment_id=held.id, to=AssignmentState.EXPIRED),
        Note(ref=held.ref, actor="bot", kind="offer_expired"),
        Tell(
            to=ToRoom(room_id=held.room_id, thread_root=held.thread_root),
            lines=(msg("desk.expired", ref=held.ref),),
        ),
        FindAiguilleur(ref=held.ref),
    )


# -- the person's side (effects of dialogs/assignment/relay.py) ------------------------


def from_person(held: AssignmentView, case: CaseView, text: str) -> Effects:
    said = msg("desk.from_person", name=person(case), ref=held.ref, text=text)
    to = ToRoom(room_id=held.room_id, thread_root=held.thread_root)
    return (
        Tell(to=to, lines=(said,), relayed=True),
        Note(ref=held.ref, actor="person", kind="relay_message", size=len(text)),
    )


def person_ended(held: AssignmentView, case: CaseView) -> Effects:
    to = ToRoom(room_id=held.room_id, thread_root=held.thread_root)
    return (
        Move(assignment_id=held.id, to=AssignmentState.ENDED),
        Note(ref=held.ref, actor="person", kind="relay_ended"),
        Tell(to=to, lines=(msg("desk.person_ended", ref=held.ref, name=person(case)),)),
        Drain(),
    )


def contacts_shared(held: AssignmentView, case: CaseView, link: str) -> Effects:
    to = ToRoom(room_id=held.room_id, thread_root=held.thread_root)
    said = msg("desk.contact", ref=held.ref, name=person(case), link=link)
    return (
        MarkShared(assignment_id=held.id),
        Note(ref=held.ref, actor="person", kind="contacts_shared"),
        Tell(to=to, lines=(said,)),
    )


# -- listings -------------------------------------------------------------------------


def person(case: CaseView) -> str | Msg:
    return case.person_name or msg("desk.someone")


def mine_lines(ctx: DeskContext) -> tuple[Msg, ...]:
    if not ctx.mine:
        return (msg("desk.mine.none"),)
    return (
        msg("desk.mine.title"),
        *(
            msg(
                "desk.mine.line",
                ref=held.ref,
                lieu=lieu(case),
                state=msg(f"desk.state.{held.state}"),
            )
            for held, case in ctx.mine
        ),
    )


def case_lines(case: CaseView, held: AssignmentView) -> tuple[Msg, ...]:
    return (
        msg(
            "desk.case.title",
            ref=case.ref,
            status=msg(f"status.{case.status}"),
            state=msg(f"desk.state.{held.state}"),
        ),
        msg("desk.offer.person", name=person(case)),
        *sheet_lines(case.answers, third_person=True),
    )
