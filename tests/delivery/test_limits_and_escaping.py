"""Abuse by size and by markup: every free text has a length limit and an
absurd message is refused politely (never cut silently, never relayed), and
whatever a person types is shown to others as text, never as markup (Telegram
HTML, Matrix `formatted_body`).

Already covered elsewhere: HTML escaping of the sheet on Telegram
(tests/transports/telegram/test_intake.py), of every rendered parameter for random
texts (tests/intake/test_engine_properties.py), of the offer in Matrix and of an
aiguilleur's message shown on Telegram (tests/transports/matrix/test_scenarios.py); the
person's relayed message in Matrix is checked against a real Synapse in test_kill_scenario.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import BotService
from bot.transports.matrix.sender import content_of, matrix_payload
from dialogs.assignment.desk import (
    ActorView,
    AssignmentView,
    CaseView,
    DeskContext,
    Tell,
    ToPerson,
    ToRoom,
    from_person,
    offer_lines,
    on_thread_text,
)
from dialogs.kernel.context import NudgeView, RelayView
from dialogs.kernel.effects import NudgeAnswered, RelayToAiguilleur
from dialogs.kernel.flow import LIMITS
from dialogs.kernel.render import render
from dialogs.kernel.state import Stage
from tests.fakes.telegram_api import FakeTelegram
from tests.kernel.transcript import Transcript, keys
from tests.transports.telegram.harness import TOKEN, answer, bot_config, choose, full_intake

HUGE = "é" * 100_000  # 100 kB and more
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
HELD = AssignmentView(
    id=7, ref="AIG-0007", aiguilleur_id="alix", aiguilleur_name="Alix", state="accepted",
    room_id="!room", thread_root="$offer",
)  # fmt: skip
CASE = CaseView(
    ref="AIG-0007",
    status="attribue",
    lieu_name="<b>La Fabrique</b> & Cie",
    person_name="Camille <script>",
    themes=("gestion",),
)

# Each free-text stage of the intake, and how to get past it once tested.
WALK: list[tuple[Stage, str | None, str | None]] = [
    (Stage.LIEU_NAME, "La Fabrique", None),
    (Stage.PLACE, "29200", None),
    (Stage.PLACE_CONFIRM, None, "yes"),
    (Stage.ROLE, "Bénévole", None),
    (Stage.THEMES, "gestion", None),
    (Stage.PROBLEM, "Nos adhésions sont dans un tableur illisible.", None),
    (Stage.TRIED, "Rien encore", None),
    (Stage.GOAL, "Un outil simple", None),
    (Stage.CONSTRAINTS, "Pas de budget", None),
]


def test_every_free_text_of_the_intake_refuses_100_kb_politely() -> None:
    t = Transcript()
    t.say("bonjour")
    t.press("yes")
    refused: list[Stage] = []
    for stage, text, action in WALK:
        assert t.stage == stage, (t.stage, stage)
        if text is not None:
            before = t.state
            t.say(HUGE)
            # Themes are read as words and never stored as text: a plain retry.
            polite = ("input.too_long.intake", "intake.themes.retry")
            assert t.said()[0] in polite, (stage, t.said())
            assert t.state is not None and before is not None
            assert t.state.answers == before.answers and t.stage == stage
            refused.append(stage)
            # A minute to shorten it: a text right after a long one would be
            # taken as its next part (dialogs/intake/bursts.py).
            t.ctx = replace(t.ctx, now=t.ctx.now + timedelta(minutes=1))
            t.say(text)
        else:
            assert action is not None
            t.press(action)
    assert t.stage == Stage.HELP
    assert {s.value for s in refused} >= set(LIMITS) - {"message"}


def test_a_message_after_the_intake_has_a_limit_too() -> None:
    t = Transcript()
    t.say("bonjour")
    t.press("yes")
    for _, text, action in WALK:
        if text is not None:
            t.say(text)
        elif action is not None:
            t.press(action)
    t.press("hp:decouvrir")
    t.press("done")
    urgency = next(b.data.split(":", 1)[1] for b in t.buttons())
    t.press(urgency)
    t.press("confirm")
    assert t.cases == 1
    effects = len(t.effects)
    t.say(HUGE)
    assert "input.too_long.note" in t.said()
    assert len(t.effects) == effects  # nothing added to the case


def idle_person() -> Transcript:
    """A person past consent with nothing asked: where a relay or a nudge answer lands."""
    t = Transcript()
    t.say("bonjour")
    t.press("yes")
    assert t.state is not None
    t.state = replace(t.state, stage=Stage.IDLE)
    return t


def test_relay_refuses_a_huge_message_instead_of_cutting_it() -> None:
    t = idle_person()
    t.ctx = replace(t.ctx, relay=RelayView(assignment_id=7, ref="AIG-0007", aiguilleur_name="Alix"))
    out = t.say(HUGE)
    assert keys(out) == ["input.too_long"]
    assert not any(isinstance(e, RelayToAiguilleur) for e in out.effects)
    # A minute later (right after, it would be taken as the huge text's next part).
    t.ctx = replace(t.ctx, now=t.ctx.now + timedelta(minutes=1))
    out = t.say("Bonjour <b>Alix</b>")
    relayed = next(e for e in out.effects if isinstance(e, RelayToAiguilleur))
    assert relayed.text == "Bonjour <b>Alix</b>"


def test_a_nudge_answer_refuses_a_huge_text() -> None:
    t = idle_person()
    t.ctx = replace(t.ctx, nudge=NudgeView(id=3, ref="AIG-0007", kind="ouverture"))
    out = t.say(HUGE)
    assert keys(out) == ["input.too_long"]
    assert not any(isinstance(e, NudgeAnswered) for e in out.effects)
    out = t.say("On a commencé")
    assert any(isinstance(e, NudgeAnswered) for e in out.effects)


def test_an_aiguilleurs_huge_message_is_not_relayed() -> None:
    ctx = DeskContext(
        now=NOW,
        room_id="!room",
        thread_root="$offer",
        actor=ActorView(id="alix", name="Alix"),
        case=CASE,
        assignment=HELD,
    )
    (told,) = on_thread_text(HUGE, ctx)
    assert isinstance(told, Tell) and isinstance(told.to, ToRoom)
    assert told.lines[0].key == "desk.too_long"
    relayed = on_thread_text("Bonjour", ctx)
    assert any(isinstance(e, Tell) and isinstance(e.to, ToPerson) for e in relayed)


def test_what_a_person_typed_is_text_in_matrix_formatted_body() -> None:
    said = from_person(HELD, CASE, "Merci <b>beaucoup</b> & <a href='x'>ici</a>")
    tell = next(e for e in said if isinstance(e, Tell))
    content = content_of(matrix_payload(render("fr", tell.lines).html, relayed=True))
    html = content["formatted_body"]
    assert "Merci &lt;b&gt;beaucoup&lt;/b&gt; &amp; &lt;a href='x'&gt;ici&lt;/a&gt;" in html
    assert "Camille &lt;script&gt;" in html and "<script>" not in html
    assert "Merci <b>beaucoup</b> & <a href='x'>ici</a>" in content["body"]
    offer = content_of(matrix_payload(render("fr", offer_lines(CASE, timedelta(hours=24))).html))
    assert "&lt;b&gt;La Fabrique&lt;/b&gt; &amp; Cie" in offer["formatted_body"]
    assert "<b>La Fabrique</b>" not in offer["formatted_body"]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


async def test_a_100_kb_message_on_telegram_is_refused_politely(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    service = BotService(bot_config(tg, tmp_path), rate_limit=False)
    await service.start()
    try:
        alice = tg.user("Alice <b>", language_code="fr")
        await answer(alice, "/start")
        await choose(alice, "J'accepte")
        refused = await answer(alice, HUGE)
        assert "100000 caractères" in (refused.plain_text or "")
        assert len(refused.text or "") < 1000  # the text is not echoed back
        # The conversation goes on where it was.
        question = await answer(alice, "La Fabrique")
        assert "Où se trouve" in (question.plain_text or "")
        # The person's own name and answers are escaped in what the bot shows.
        summary = await full_intake(tg.user("Bob", language_code="fr"), lieu="<i>Le Bazar</i>")
        assert "&lt;i&gt;Le Bazar&lt;/i&gt;" in (summary.text or "")
    finally:
        await service.stop()
