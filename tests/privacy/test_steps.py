"""/mesdonnees and /oublier as pure transcripts: what the engine decides."""

from __future__ import annotations

from dialogs.intake.commands import COMMAND_ALIASES, MENU, MENU_EN
from dialogs.kernel.effects import ErasePersonalData, ExportPersonalData
from dialogs.kernel.events import Choice
from dialogs.kernel.i18n import translate
from dialogs.kernel.replies import ClearButtons, Say
from dialogs.kernel.state import Stage
from tests.kernel.transcript import Transcript, full_intake


def to_themes(t: Transcript) -> Transcript:
    t.say("bonjour")
    t.press("yes")
    t.say("La Fabrique du Coin")
    t.say("29200")
    t.press("yes")
    t.press("role:benevole")
    assert t.stage == Stage.THEMES
    return t


def with_case() -> Transcript:
    t = full_intake(Transcript())
    t.press("confirm")
    assert t.stage == Stage.IDLE
    return t


def exports(t: Transcript) -> list[ExportPersonalData]:
    assert t.last is not None
    return [e for e in t.last.effects if isinstance(e, ExportPersonalData)]


def test_mesdonnees_between_requests_is_only_the_file() -> None:
    t = with_case()
    before = t.state
    out = t.command("mesdonnees")
    [export] = exports(t)
    assert export.locale == "fr"
    assert export.caption.key == "privacy.export.caption"
    assert out.replies == ()
    assert t.state == before


def test_mydata_mid_intake_sends_the_file_then_asks_again() -> None:
    t = to_themes(Transcript())
    version = t.state.version if t.state else -1
    t.command("mydata")
    assert len(exports(t)) == 1
    assert t.said() == ["intake.themes.ask"]
    assert t.stage == Stage.THEMES
    # Same question, same version: the buttons already on screen still work.
    assert t.state is not None and t.state.version == version
    t.press("th:gestion")
    assert t.state is not None and t.state.draft["themes"] == ["gestion"]


def test_without_a_conversation_nothing_is_stored() -> None:
    for name in ("mesdonnees", "oublier", "mydata", "forget"):
        t = Transcript()
        out = t.command(name)
        assert out.state is None
        assert out.effects == ()
        assert t.said() == ["privacy.nothing_stored"]


def test_oublier_asks_and_no_keeps_everything() -> None:
    t = to_themes(Transcript())
    answers = dict(t.state.answers) if t.state else {}
    t.command("oublier")
    assert t.stage == Stage.CONFIRM_FORGET
    assert t.said() == ["forget.ask"]
    assert [b.data.split(":")[1] for b in t.buttons()] == ["yes", "no"]
    assert "Oui, tout effacer" in [translate("fr", b.label.key) for b in t.buttons()]
    t.press("no")
    assert t.stage == Stage.THEMES
    # The question is kept as a record of the answer, then we carry on.
    assert t.said()[:3] == ["forget.ask", "answer.chosen", "confirm.kept"]
    assert t.state is not None and dict(t.state.answers) == answers
    assert not any(isinstance(e, ErasePersonalData) for e in t.effects)


def test_oublier_yes_erases_and_forgets_the_conversation() -> None:
    t = with_case()
    t.command("forget")
    assert t.stage == Stage.CONFIRM_FORGET
    out = t.press("yes")
    assert out.state is None
    assert out.effects == (ErasePersonalData(),)
    assert isinstance(out.replies[0], ClearButtons)
    assert isinstance(out.replies[1], Say)
    assert t.said() == ["forget.done"]
    # The next message is a first contact: welcome and consent again.
    t.say("bonjour")
    assert t.stage == Stage.WELCOME
    assert t.said() == ["welcome.body", "welcome.consent"]


def test_oublier_confirmed_by_typing_oui() -> None:
    t = to_themes(Transcript())
    t.command("oublier")
    out = t.say("oui")
    assert out.state is None
    assert out.effects == (ErasePersonalData(),)
    assert t.said() == ["forget.done"]


def test_oublier_then_retour_or_other_text() -> None:
    t = with_case()
    t.command("oublier")
    t.say("peut-être")
    assert t.stage == Stage.CONFIRM_FORGET
    assert t.said()[0] == "input.use_buttons"
    t.command("oublier")  # asked twice: the same question, not a second level
    assert t.stage == Stage.CONFIRM_FORGET
    t.command("retour")
    assert t.stage == Stage.IDLE
    assert not any(isinstance(e, ErasePersonalData) for e in t.effects)


def test_oublier_from_another_confirmation_keeps_the_way_back() -> None:
    t = to_themes(Transcript())
    t.command("annuler")
    assert t.stage == Stage.CONFIRM_CANCEL
    t.command("oublier")
    assert t.stage == Stage.CONFIRM_FORGET
    t.press("no")
    assert t.stage == Stage.THEMES


def test_a_stale_oublier_button_erases_nothing() -> None:
    t = to_themes(Transcript())
    t.command("oublier")
    stale = next(b for b in t.buttons() if b.data.endswith(":yes"))
    t.press("no")
    out = t.send(Choice(data=stale.data))
    assert out.effects == ()
    assert out.toast is not None and out.toast.key == "button.stale"
    assert t.stage == Stage.THEMES


def test_help_and_menus_name_both_commands() -> None:
    t = to_themes(Transcript())
    t.command("aide")
    said = t.said()
    privacy = said.index("help.privacy")
    assert said[0] == "help.body" and said[privacy + 1 : privacy + 3] == ["command.line"] * 2
    assert "/mesdonnees" in t.text("fr") and "/oublier" in t.text("fr")
    assert "/mydata" in t.text("en") and "/forget" in t.text("en")
    assert ("mesdonnees", "menu.mesdonnees") in MENU
    assert ("oublier", "menu.oublier") in MENU
    assert MENU_EN["mesdonnees"] == "mydata" and MENU_EN["oublier"] == "forget"
    assert COMMAND_ALIASES["mydata"] == "mesdonnees"
    assert COMMAND_ALIASES["forget"] == "oublier"
    for locale in ("fr", "en"):
        assert translate(locale, "menu.oublier") != "menu.oublier"
