"""A long text in parts is one answer (dialogs/intake/bursts.py), as transcripts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from dialogs.intake.bursts import joined
from dialogs.kernel.context import RelayView
from dialogs.kernel.effects import RelayToAiguilleur
from dialogs.kernel.events import Text
from dialogs.kernel.state import Stage
from tests.kernel.transcript import Transcript, full_intake


def at_problem() -> Transcript:
    t = Transcript()
    t.say("bonjour")
    t.press("yes")
    t.say("La Fabrique")
    t.say("29200")
    t.press("yes")
    t.press("role:benevole")
    t.press("th:gestion")
    t.press("done")
    assert t.stage == Stage.PROBLEM
    return t


def later(t: Transcript, seconds: float) -> None:
    t.ctx = replace(t.ctx, now=t.ctx.now + timedelta(seconds=seconds))


def test_parts_are_joined_as_the_apps_cut_them() -> None:
    android = "a" * 4096
    assert joined(android, "bc") == android + "bc"  # cut mid-word, nothing lost
    assert joined("x" * 3000 + ".", "Ensuite") == "x" * 3000 + ".\nEnsuite"
    assert joined("x" * 3000, "suite") == "x" * 3000 + " suite"


def test_the_event_time_decides_not_the_clock() -> None:
    t = at_problem()
    sent = t.ctx.now
    t.send(Text(text="p" * 2500, sent_at=sent))
    assert t.stage == Stage.TRIED
    # Handled a minute late (the bot was away), sent one second after: joined.
    later(t, 60)
    out = t.send(Text(text="suite du problème", sent_at=sent + timedelta(seconds=1)))
    assert out.state is not None and t.said()[0] == "input.joined"
    assert t.state is not None and t.state.answers["problem"] == "p" * 2500 + " suite du problème"
    assert t.stage == Stage.TRIED


def test_a_short_answer_is_never_joined() -> None:
    t = at_problem()
    t.say("Nos adhésions sont dans un tableur.")
    t.say("Un tableur partagé.")  # same instant in a transcript: still the next answer
    assert t.stage == Stage.GOAL
    assert t.state is not None and t.state.answers["tried"] == "Un tableur partagé."


def test_a_refused_note_after_the_intake_is_joined_then_refused_whole() -> None:
    t = Transcript()
    full_intake(t)
    t.press("confirm")
    later(t, 60)
    effects = len(t.effects)
    t.say("n" * 4096)
    assert t.said()[0] == "input.too_long.note"
    t.say("fin du message")
    assert t.said()[:2] == ["input.joined", "input.too_long.note"]
    assert "4110" in t.text()
    assert len(t.effects) == effects
    # Later, a shorter message is a note on the case.
    later(t, 60)
    t.say("Version courte.")
    assert len(t.effects) == effects + 1
    assert t.state is not None and t.state.burst is None


def test_a_refused_part_to_the_aiguilleur_is_not_followed_by_its_tail_alone() -> None:
    t = Transcript()
    full_intake(t)
    t.press("confirm")
    t.ctx = replace(t.ctx, relay=RelayView(assignment_id=4, ref="AIG-0001", aiguilleur_name="Alix"))
    later(t, 60)
    out = t.say("r" * 4096)
    assert t.said() == ["input.too_long"]
    out = t.say("la fin")
    assert t.said()[0] == "input.joined" and "input.too_long" in t.said()
    assert not any(isinstance(e, RelayToAiguilleur) for e in out.effects)
    later(t, 60)
    out = t.say("Version courte.")
    relayed = [e for e in out.effects if isinstance(e, RelayToAiguilleur)]
    assert [e.text for e in relayed] == ["Version courte."]
