"""/langue (/language): the person chooses French or English, kept on their
conversation; resource summaries in English when the catalog has them, else in
French with a word saying so (issue 14, item 8)."""

from __future__ import annotations

from dialogs.intake.commands import MENU, MENU_EN
from dialogs.intake.proposals import summary_in
from dialogs.kernel.context import Context
from dialogs.kernel.effects import SetLocale
from dialogs.kernel.events import CaseCreated, Choice, Suggestion
from dialogs.kernel.replies import Edit
from dialogs.kernel.state import Stage
from tests.kernel.transcript import NOW, Transcript, full_intake


def test_langue_offers_two_buttons_and_english_goes_on_in_english() -> None:
    t = Transcript()
    t.say("bonjour")
    t.press("yes")
    t.say("Le Tiers")
    assert t.stage == Stage.PLACE
    t.command("langue")
    assert t.said() == ["language.ask"]
    assert [b.data for b in t.buttons()] == ["lang:fr", "lang:en"]
    out = t.send(Choice(data="lang:en"))
    assert t.state is not None and t.state.locale == "en"
    assert t.stage == Stage.PLACE
    assert isinstance(out.replies[0], Edit)
    assert out.effects == (SetLocale(locale="en"),)
    assert "I will speak English" in t.text("en")
    assert "Where is it?" in t.text("en") or "postal code" in t.text("en")
    # The answers so far are kept.
    assert t.state.answers["lieu_name"] == "Le Tiers"


def test_language_with_an_argument_and_back_to_french() -> None:
    t = Transcript()
    t.say("bonjour")
    t.command("language", "english")
    assert t.state is not None and t.state.locale == "en"
    assert t.stage == Stage.WELCOME
    assert "Hello and welcome" in t.text("en")
    t.command("langue", "français")
    assert t.state.locale == "fr"
    assert not t.effects  # no consent yet: nothing about the person is stored


def test_language_before_any_conversation() -> None:
    t = Transcript()
    t.command("language")
    assert t.state is None  # nothing kept before a choice
    assert [b.data for b in t.buttons()] == ["lang:fr", "lang:en"]
    t.send(Choice(data="lang:en"))
    assert t.state is not None and (t.state.locale, t.stage) == ("en", Stage.WELCOME)
    assert "Hello and welcome" in t.text("en")


def test_an_unknown_language_button_changes_nothing() -> None:
    t = Transcript()
    t.say("bonjour")
    out = t.send(Choice(data="lang:de"))
    assert out.toast is not None and t.state is not None and t.state.locale == "fr"


def test_langue_is_in_both_menus() -> None:
    assert ("langue", "menu.langue") in MENU
    assert MENU_EN["langue"] == "language"
    assert t_command_alias("language") == "langue"


def t_command_alias(name: str) -> str:
    from dialogs.intake.commands import COMMAND_ALIASES

    return COMMAND_ALIASES[name]


def test_english_summaries_with_french_fallback_said() -> None:
    t = full_intake(Transcript(ctx=Context(now=NOW, locale_hint="en")))
    assert t.state is not None and t.state.locale == "en"
    t.press("confirm")
    ref = t.ctx.cases[0].ref
    t.send(
        CaseCreated(
            ref=ref,
            resources=(
                Suggestion(id="a", name="Alpha", summary="Un outil.", summary_en="A tool."),
                Suggestion(id="b", name="Beta", summary="Un guide pratique."),
            ),
        )
    )
    text = t.text("en")
    assert "A tool." in text and "Un outil." not in text
    assert "Un guide pratique. (in French)" in text
    # In French: the French summaries, with no remark.
    item = {"summary": "Un guide pratique.", "summary_en": "A practical guide."}
    assert summary_in("fr", item) == "Un guide pratique."
    assert summary_in("en", item) == "A practical guide."
