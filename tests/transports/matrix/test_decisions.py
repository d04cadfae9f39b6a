"""The pure side of the Matrix desk: command grammar, assignment decisions and
the person's relay flow (microseconds each, no server)."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.assignment.commands import COMMANDS
from dialogs.assignment.desk import (
    ActorView,
    AssignmentView,
    CaseView,
    DeskContext,
    Drain,
    FindAiguilleur,
    Move,
    Offer,
    Queue,
    Tell,
    ToCoordinators,
    ToPerson,
    aiguilleur_help,
    offer_or_queue,
    on_command,
    on_reaction,
    on_thread_text,
    plain_emoji,
)
from dialogs.catalog.load import AiguilleurProfile
from dialogs.catalog.matching.model import AiguilleurCandidate
from dialogs.coordination.commands import COMMANDS as COORDINATION_COMMANDS
from dialogs.intake.engine import step
from dialogs.kernel.commands import Misused, Parsed, Read, Unknown, parsed
from dialogs.kernel.commands import parse as parse_any
from dialogs.kernel.context import Context, RelayView
from dialogs.kernel.effects import EndRelay, RelayToAiguilleur, ShareContacts
from dialogs.kernel.events import Choice, Command, Text
from dialogs.kernel.i18n import catalog_keys
from dialogs.kernel.render import render_msg
from dialogs.kernel.replies import Say
from dialogs.kernel.state import Stage, State

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
ALIX = ActorView(id="alix", name="Alix")
CASE = CaseView(ref="AIG-0042", status="propose", lieu_name="La Fabrique", themes=("gestion",))


def held(state: str = "offered", who: str = "alix") -> AssignmentView:
    return AssignmentView(
        id=7, ref="AIG-0042", aiguilleur_id=who, aiguilleur_name="Alix", state=state,
        room_id="!a:x", thread_root="$offer",
    )


def ctx(actor: ActorView | None = ALIX, assignment: AssignmentView | None = None) -> DeskContext:
    return DeskContext(
        now=NOW, room_id="!a:x", actor=actor, case=CASE, assignment=assignment or held()
    )


def said(effects: tuple[object, ...]) -> list[str]:
    return [line.key for e in effects if isinstance(e, Tell) for line in e.lines]


def parse(text: str) -> Read | None:
    return parse_any(text, "!", COMMANDS)


def command(name: str, **values: object) -> Parsed:
    return parsed(COMMANDS[name], **values)


def test_grammar() -> None:
    assert parse("bonjour") is None
    assert parse("!accepter aig-42") == command("accepter", ref="AIG-0042")
    assert parse("!refuser AIG-0042 pas le temps") == command(
        "refuser", ref="AIG-0042", text="pas le temps"
    )
    assert parse("!refuser 42") == command("refuser", ref="AIG-0042", text=None)
    assert parse("!note AIG-0042") == Misused(spec=COMMANDS["note"], word="note")
    assert parse("!dispo off") == command("dispo", switch=False)
    assert isinstance(parse("!dispo peut-être"), Misused)
    assert parse("!help") == command("aide")
    assert parse("!frobnicate") == Unknown(word="frobnicate")


def test_help_lists_every_command_in_both_languages() -> None:
    lines = aiguilleur_help()
    # The desk's commands and the coordination's one for aiguilleurs (!intervention).
    assert len(lines) == len(COMMANDS) + 1 + 2
    for locale in ("fr", "en"):
        text = "\n".join(render_msg(locale, line) for line in lines)
        for spec in (*COMMANDS, COORDINATION_COMMANDS["intervention"]):
            assert f"!{spec.words if locale == 'fr' else spec.words_en}" in text
        refuser = "refuser" if locale == "fr" else "decline"
        assert f"<code>!{refuser} AIG-0042 " in text
    keys = catalog_keys("fr")
    assert all(spec.help_key in keys for spec in COMMANDS)


def test_accept_tells_both_sides_and_decline_moves_on() -> None:
    accepted = on_command(command("accepter", ref="AIG-0042"), ctx())
    assert Move(assignment_id=7, to="accepted") in accepted
    person = [e for e in accepted if isinstance(e, Tell) and isinstance(e.to, ToPerson)]
    assert person and person[0].buttons  # end / share contact
    declined = on_command(command("refuser", ref="AIG-0042", text="non"), ctx())
    assert FindAiguilleur(ref="AIG-0042") in declined and Drain() in declined


def test_someone_elses_case_is_refused() -> None:
    basile = ActorView(id="basile", name="Basile")
    for name in ("accepter", "refuser", "dossier", "note", "clore", "rendre", "action"):
        effects = on_command(command(name, ref="AIG-0042", text="x"), ctx(actor=basile))
        assert said(effects) == ["desk.not_yours"], name
    assert said(on_command(command("accepter", ref="AIG-0042"), ctx(actor=None))) == [
        "desk.stranger"
    ]
    assert said(on_thread_text("coucou", ctx(actor=basile, assignment=held("accepted")))) == [
        "desk.not_yours"
    ]


def test_reactions() -> None:
    assert plain_emoji("👍🏿") == "👍" and plain_emoji("👍️") == "👍"
    assert Move(assignment_id=7, to="accepted") in on_reaction("👍🏽", ctx())
    assert Move(assignment_id=7, to="declined") in on_reaction("👎", ctx())
    assert on_reaction("🎉", ctx()) == ()


def candidate(slug: str, capacity: int = 2, load: int = 0) -> AiguilleurCandidate:
    profile = AiguilleurProfile(
        id=slug, name=slug, matrix_id=f"@{slug}:x", themes=("gestion",), capacity=capacity
    )
    return AiguilleurCandidate(profile=profile, active_cases=load)


def test_offer_or_queue() -> None:
    people = [candidate("alix"), candidate("basile")]
    rooms = {"alix", "basile"}
    assert offer_or_queue(CASE, people, set(), rooms, waiting=False) == (
        Offer(ref="AIG-0042", aiguilleur_id="alix"),
    )
    assert offer_or_queue(CASE, people, {"alix"}, rooms, False)[0] == Offer(
        ref="AIG-0042", aiguilleur_id="basile"
    )
    full = [candidate("alix", capacity=1, load=1)]
    queued = offer_or_queue(CASE, full, set(), rooms, waiting=False)
    assert queued[0] == Queue(ref="AIG-0042")
    assert isinstance(queued[1], Tell) and isinstance(queued[1].to, ToCoordinators)
    assert offer_or_queue(CASE, full, set(), rooms, waiting=True) == ()  # told once
    assert offer_or_queue(CASE, people, set(), {"basile"}, False)[0] == Offer(
        ref="AIG-0042", aiguilleur_id="basile"
    )


def person_ctx(noted: bool = False) -> Context:
    relay = RelayView(assignment_id=7, ref="AIG-0042", aiguilleur_name="Alix", noted=noted)
    return Context(now=NOW, relay=relay)


def test_person_relay_flow() -> None:
    idle = State(stage=Stage.IDLE, consented=True, version=4)
    first = step(idle, Text(text="bonjour"), person_ctx())
    assert first.effects == (RelayToAiguilleur(assignment_id=7, text="bonjour"),)
    assert isinstance(first.replies[0], Say) and first.replies[0].buttons
    later = step(idle, Text(text="encore"), person_ctx(noted=True))
    assert later.replies == () and later.state == idle
    assert step(idle, Choice(data="r:7:share"), person_ctx()).effects == (
        ShareContacts(assignment_id=7),
    )
    assert step(idle, Command(name="fin"), person_ctx()).effects == (EndRelay(assignment_id=7),)
    stale = step(idle, Choice(data="r:6:end"), person_ctx())
    assert stale.effects == () and stale.toast is not None
    # In the middle of a new intake, answers stay answers.
    intake = State(stage=Stage.PROBLEM, consented=True, version=4)
    assert not any(
        isinstance(e, RelayToAiguilleur)
        for e in step(intake, Text(text="notre problème est long"), person_ctx()).effects
    )
