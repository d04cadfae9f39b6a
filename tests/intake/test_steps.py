"""The intake dialog as pure functions: every question, re-prompt, edit and command."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogs.kernel.context import Context
from dialogs.kernel.effects import AddCaseMessage, RecordConsent, SubmitCase
from dialogs.kernel.events import Attachment, AttachmentKind, Choice, Location
from dialogs.kernel.flow import FIELDS
from dialogs.kernel.replies import ClearButtons, Edit, Say
from dialogs.kernel.state import Stage, State
from tests.kernel.transcript import NOW, Transcript, full_intake


def test_first_message_shows_welcome_and_consent() -> None:
    t = Transcript()
    t.say("bonjour")
    assert t.stage == Stage.WELCOME
    assert t.said() == ["welcome.body", "welcome.consent"]
    assert [b.data.split(":")[1] for b in t.buttons()] == ["yes", "no"]
    assert "Aiguillage" in t.text()


def test_refusing_consent_forgets_everything() -> None:
    t = Transcript()
    t.command("start")
    out = t.press("no")
    assert out.state is None
    assert "consent.refused" in t.said()
    assert not t.effects


def test_consent_by_typing_oui() -> None:
    t = Transcript()
    t.say("salut")
    t.say("Oui")
    assert t.stage == Stage.LIEU_NAME
    assert any(isinstance(e, RecordConsent) for e in t.effects)


def test_consent_other_text_reprompts() -> None:
    t = Transcript()
    t.say("salut")
    t.say("peut-être")
    assert t.stage == Stage.WELCOME
    assert t.said()[0] == "consent.use_buttons"


def test_full_intake_reaches_summary_then_case() -> None:
    t = full_intake(Transcript())
    assert t.stage == Stage.SUMMARY
    text = t.text()
    assert "La Fabrique du Coin" in text
    assert "Finistère" in text and "Bretagne" in text
    assert "Gestion" in text and "Gouvernance" in text
    assert "Rien pour l'instant" in text
    out = t.press("confirm")
    assert t.stage == Stage.IDLE
    submitted = [e for e in out.effects if isinstance(e, SubmitCase)]
    assert len(submitted) == 1
    sheet = submitted[0].sheet
    assert sheet["region"] == "BRE"
    assert sheet["place"]["departement"] == "29"
    assert sheet["themes"] == ["gouvernance", "gestion"]
    assert sheet["tried"] is None
    assert sheet["help"] == ["decouvrir"]
    assert sheet["urgency"] == "mois"
    assert "case.created" in t.said()
    assert "AIG-0001" in t.text()


def test_pressed_button_is_recorded_in_place() -> None:
    t = Transcript()
    t.say("bonjour")
    out = t.press("yes")
    edit = out.replies[0]
    assert isinstance(edit, Edit)
    assert edit.buttons == ()
    assert edit.lines[-1].key == "answer.chosen"


def test_stale_button_changes_nothing() -> None:
    t = Transcript()
    t.say("bonjour")
    old = t.buttons()[0].data
    t.send(Choice(data=old, message="7"))
    before = t.state
    out = t.send(Choice(data=old, message="7"))
    assert out.state == before
    assert out.toast is not None and out.toast.key == "button.stale"
    # The message pressed was sent before the current question: its keyboard goes.
    assert out.replies == (ClearButtons(),)
    # A message the engine cannot place (unknown, or newer): nothing is touched.
    assert t.send(Choice(data=old)).replies == ()
    assert t.send(Choice(data=old, message="8")).replies == ()


def test_second_tap_on_a_redrawn_toggle_leaves_its_buttons() -> None:
    t = Transcript()
    full_intake(t)
    t.press("edit")
    t.press("f:themes")
    toggle = next(b for b in t.buttons() if b.data.endswith(":th:energie"))
    first = t.send(Choice(data=toggle.data, message="40"))
    assert isinstance(first.replies[0], Edit)
    second = t.send(Choice(data=toggle.data, message="40"))
    assert second.replies == () and second.toast is not None
    assert t.state is not None and "energie" in t.state.draft["themes"]


def test_double_tap_records_once() -> None:
    t = Transcript()
    full = full_intake(t)
    confirm = next(b for b in full.buttons() if b.data.endswith(":confirm"))
    first = t.send(Choice(data=confirm.data))
    second = t.send(Choice(data=confirm.data))
    assert sum(isinstance(e, SubmitCase) for e in first.effects) == 1
    assert not second.effects
    assert second.toast is not None


@pytest.mark.parametrize("data", ["", "x", "abc:def", "99999:yes", ":yes", "1:", "0" * 70])
def test_forged_callback_data_is_stale(data: str) -> None:
    t = Transcript()
    t.say("bonjour")
    before = t.state
    out = t.send(Choice(data=data))
    assert out.state == before
    assert out.toast is not None


def test_empty_and_too_long_lieu_name() -> None:
    t = Transcript()
    t.say("bonjour")
    t.press("yes")
    t.say("   ")
    assert t.said()[0] == "input.empty"
    assert t.stage == Stage.LIEU_NAME
    t.say("x" * 500)
    assert t.said()[0] == "input.too_long.intake"
    assert "500" in t.text()
    t.say("L")
    assert t.said()[0] == "input.too_short.lieu_name"


def at_place(t: Transcript) -> Transcript:
    t.say("bonjour")
    t.press("yes")
    t.say("Le Tiers")
    assert t.stage == Stage.PLACE
    return t


@pytest.mark.parametrize(
    ("typed", "departement", "region"),
    [
        ("35000", "35", "BRE"),
        ("Finistère", "29", "BRE"),
        ("finistere", "29", "BRE"),
        ("13", "13", "PAC"),
        ("20000", "2A", "COR"),
        ("97400", "974", "974"),
        ("Lyon", "69", "ARA"),
    ],
)
def test_place_typed(typed: str, departement: str, region: str) -> None:
    t = at_place(Transcript())
    t.say(typed)
    assert t.stage == Stage.PLACE_CONFIRM
    t.press("yes")
    assert t.stage == Stage.ROLE
    assert t.state is not None
    assert t.state.answers["place"]["departement"] == departement
    assert t.state.answers["region"] == region


def test_place_unknown_postal_code_and_not_found() -> None:
    t = at_place(Transcript())
    t.say("99999")
    assert t.said()[0] == "place.unknown_postal_code"
    t.say("Zzyzxville")
    assert t.said()[0] == "place.not_found"
    assert t.stage == Stage.PLACE


def test_place_by_shared_location() -> None:
    t = at_place(Transcript())
    t.send(Location(lat=48.117, lon=-1.678))  # Rennes
    assert t.stage == Stage.PLACE_CONFIRM
    assert "Ille-et-Vilaine" in t.text()
    t.press("yes")
    assert t.state is not None and t.state.answers["region"] == "BRE"


def test_location_outside_france() -> None:
    t = at_place(Transcript())
    t.send(Location(lat=52.52, lon=13.40))  # Berlin
    assert t.said()[0] == "place.location_outside"


def test_place_confirm_no_asks_again() -> None:
    t = at_place(Transcript())
    t.say("35000")
    t.press("no")
    assert t.stage == Stage.PLACE


def test_ambiguous_commune_offers_choice() -> None:
    t = at_place(Transcript())
    t.say("Saint-Denis")
    assert t.stage == Stage.PLACE_PICK
    assert len(t.buttons()) >= 2
    assert t.said() == ["place.pick.ask"]
    t.press("pick:1")
    # Chosen from the list: recorded at once, no "C'est bien ça ?" after it.
    assert t.stage == Stage.ROLE
    assert "place.confirm.ask" not in t.said()
    assert t.state is not None and t.state.answers["place"]["commune"] == "Saint-Denis"


@pytest.mark.parametrize(
    ("typed", "region", "buttons"),
    [("Occitanie", "OCC", 13), ("grand est", "GES", 10), ("Bretagne", "BRE", 4)],
)
def test_region_is_recorded_then_its_departement_asked(
    typed: str, region: str, buttons: int
) -> None:
    t = at_place(Transcript())
    t.say(typed)
    assert t.stage == Stage.PLACE_PICK
    assert t.state is not None and t.state.answers["region"] == region
    assert t.said() == ["place.region.ask"]
    assert "Plusieurs communes" not in t.text()
    assert "Dans quel département" in t.text()
    assert len(t.buttons()) == buttons
    t.press("pick:0")
    assert t.stage == Stage.ROLE
    assert "place.confirm.ask" not in t.said()
    assert t.state.answers["place"]["region"] == region
    assert t.state.answers["region"] == region


def test_town_typed_after_a_region_is_looked_up_in_that_region() -> None:
    t = at_place(Transcript())
    t.say("Île-de-France")
    t.say("Saint-Denis")  # also in La Réunion: the région says which
    assert t.stage == Stage.PLACE_CONFIRM
    assert "Saint-Denis, Seine-Saint-Denis (93)" in t.text()
    t.press("yes")
    assert t.stage == Stage.ROLE
    assert t.state is not None and t.state.answers["region"] == "IDF"


def test_english_region_question() -> None:
    t = at_place(Transcript(ctx=Context(now=NOW, locale_hint="en")))
    t.say("Occitanie")
    assert "Which département" in t.text("en")


def test_role_free_text_and_known_word() -> None:
    t = at_place(Transcript())
    t.say("35000")
    t.press("yes")
    t.say("bénévole")
    assert t.state is not None and t.state.answers["role"] == "benevole"
    t.command("retour")
    assert t.stage == Stage.ROLE
    t.say("Cuisinière de la cantine")
    assert t.state is not None and t.state.answers["role"] == "Cuisinière de la cantine"


def to_themes(t: Transcript) -> Transcript:
    t = at_place(t)
    t.say("35000")
    t.press("yes")
    t.press("role:salarie")
    assert t.stage == Stage.THEMES
    return t


def test_theme_toggles_edit_in_place() -> None:
    t = to_themes(Transcript())
    out = t.press("th:energie")
    assert isinstance(out.replies[0], Edit)
    labels = [b.label for b in t.buttons()]
    assert any(label.key == "toggle.on" for label in labels)
    t.press("th:energie")  # untoggle
    out = t.press("done")
    assert out.toast is not None and out.toast.key == "intake.themes.none_selected"
    assert t.stage == Stage.THEMES


def test_themes_typed_and_unknown() -> None:
    t = to_themes(Transcript())
    t.say("énergie et mobilité")
    assert t.state is not None and t.state.answers["themes"] == ["mobilite", "energie"]
    t.command("retour")
    t.say("je ne sais pas")
    assert t.state is not None and t.state.answers["themes"] == []
    t.command("retour")
    t.say("des licornes")
    assert t.said()[0] == "intake.themes.retry"


def test_problem_too_short_reprompts() -> None:
    t = to_themes(Transcript())
    t.press("th:unknown")
    assert t.stage == Stage.PROBLEM
    t.say("on galère")
    assert t.said()[0] == "input.too_short.problem"
    assert t.stage == Stage.PROBLEM


@pytest.mark.parametrize(
    "kind",
    [AttachmentKind.PHOTO, AttachmentKind.VOICE, AttachmentKind.STICKER, AttachmentKind.DOCUMENT],
)
def test_non_text_gets_clear_answer_and_question_again(kind: AttachmentKind) -> None:
    t = to_themes(Transcript())
    t.press("th:unknown")
    out = t.send(Attachment(kind=kind))
    assert t.stage == Stage.PROBLEM
    assert t.said() == ["input.unsupported", "intake.problem.ask"]
    assert isinstance(out.replies[0], Say)


def test_location_where_text_expected() -> None:
    t = to_themes(Transcript())
    t.press("th:unknown")
    t.send(Location(lat=48.0, lon=-1.0))
    assert t.said()[0] == "input.use_text"


def test_urgency_typed() -> None:
    t = full_intake(Transcript())
    t.press("edit")
    t.press("f:urgency")
    t.say("pas urgent du tout")
    assert t.state is not None and t.state.answers["urgency"] == "faible"
    assert t.stage == Stage.SUMMARY


def test_edit_single_field_returns_to_summary() -> None:
    t = full_intake(Transcript())
    t.press("edit")
    assert t.stage == Stage.EDIT_PICK
    t.press("f:lieu_name")
    assert t.stage == Stage.LIEU_NAME
    assert t.said()[-2:] == ["intake.current_answer", "intake.lieu_name.ask"]
    t.say("La Grande Fabrique")
    assert t.stage == Stage.SUMMARY
    assert "La Grande Fabrique" in t.text()
    assert t.state is not None and not t.state.editing


def test_edit_place_goes_through_confirmation() -> None:
    t = full_intake(Transcript())
    t.press("edit")
    t.press("f:place")
    t.say("13001")
    assert t.stage == Stage.PLACE_CONFIRM
    t.press("yes")
    assert t.stage == Stage.SUMMARY
    assert t.state is not None and t.state.answers["region"] == "PAC"


def test_back_from_edit_pick_returns_to_summary() -> None:
    t = full_intake(Transcript())
    t.press("edit")
    t.press("back")
    assert t.stage == Stage.SUMMARY
    t.press("edit")
    t.command("retour")
    assert t.stage == Stage.SUMMARY


def test_retour_walks_back_and_keeps_answers() -> None:
    t = to_themes(Transcript())
    t.command("retour")
    assert t.stage == Stage.ROLE
    t.command("retour")
    assert t.stage == Stage.PLACE
    t.command("retour")
    assert t.stage == Stage.LIEU_NAME
    assert t.state is not None and t.state.answers["lieu_name"] == "Le Tiers"
    t.command("retour")
    assert t.said()[0] == "back.first"


def test_annuler_asks_then_cancels() -> None:
    t = to_themes(Transcript())
    t.command("annuler")
    assert t.stage == Stage.CONFIRM_CANCEL
    t.press("no")
    assert t.stage == Stage.THEMES
    t.command("annuler")
    t.press("yes")
    assert t.stage == Stage.IDLE
    assert t.state is not None and dict(t.state.answers) == {}
    t.command("annuler")
    assert t.said()[0] == "cancel.nothing"


def test_recommencer_asks_then_restarts() -> None:
    t = to_themes(Transcript())
    t.command("recommencer")
    assert t.stage == Stage.CONFIRM_RESTART
    t.command("retour")
    assert t.stage == Stage.THEMES
    t.command("recommencer")
    t.say("oui")
    assert t.stage == Stage.LIEU_NAME
    assert t.state is not None and dict(t.state.answers) == {}


def test_aide_then_same_question() -> None:
    t = to_themes(Transcript())
    t.command("aide")
    # Generated: a line per command (8 of the intake, 2 about data, 2 open to anyone).
    line = "command.line"
    assert t.said() == [
        "help.body",
        *[line] * 8,
        "help.privacy",
        *[line] * 2,
        "help.admin",
        *[line] * 2,
        "intake.themes.ask",
    ]
    assert t.stage == Stage.THEMES
    t.command("help")
    assert t.said()[0] == "help.body"


def test_unknown_command() -> None:
    t = to_themes(Transcript())
    t.command("licorne")
    assert t.said()[0] == "command.unknown"
    assert "/licorne" in t.text()
    assert t.stage == Stage.THEMES


def test_another_roles_command_is_no_answer() -> None:
    """A person typing an aiguilleur's ``!accepter`` (or a coordinator's
    ``!dossiers``, as in Matrix) is told so politely; nothing is answered."""
    t = Transcript()
    t.say("bonjour")
    t.press("yes")
    assert t.stage == Stage.LIEU_NAME
    t.say("!accepter AIG-0042")
    assert t.said() == ["command.desk_elsewhere", "intake.lieu_name.ask"]
    assert "<code>!accepter AIG-0042</code>" in t.text("fr")
    assert "aiguilleur" in t.text("en") and "/help" in t.text("en")
    assert t.stage == Stage.LIEU_NAME and t.state is not None and not t.state.answers
    t.say("!Dossiers clos")
    assert t.said()[0] == "command.slash" and "<code>/dossiers " in t.text("fr")
    t.say("!aide")
    assert t.said()[0] == "command.slash" and "<code>/aide</code>" in t.text("fr")
    # A place whose name starts with "!" is still a place name.
    t.say("!Fabrique")
    assert t.stage != Stage.LIEU_NAME


def test_statut_lists_cases() -> None:
    t = full_intake(Transcript())
    t.command("statut")
    assert t.said()[0] == "status.none"
    t.press("confirm")
    t.command("statut")
    assert t.said()[:2] == ["status.title", "status.line"]
    assert "AIG-0001" in t.text()
    assert "02/03/2026" in t.text()


def test_nouveau_offers_to_reuse_the_lieu() -> None:
    t = full_intake(Transcript())
    t.press("confirm")
    t.ctx = replace(
        t.ctx,
        last_lieu={
            "lieu_name": "La Fabrique du Coin",
            "place": {"departement": "29", "region": "BRE", "commune": "Brest"},
            "region": "BRE",
            "role": "benevole",
        },
    )
    t.command("nouveau")
    assert t.stage == Stage.REUSE_LIEU
    assert "La Fabrique du Coin" in t.text()
    t.press("yes")
    assert t.stage == Stage.THEMES
    assert t.state is not None and t.state.answers["lieu_name"] == "La Fabrique du Coin"
    t.command("annuler")
    t.press("yes")
    t.command("nouveau")
    t.press("no")
    assert t.stage == Stage.LIEU_NAME


def test_nouveau_during_intake_refuses_politely() -> None:
    t = to_themes(Transcript())
    t.command("nouveau")
    assert t.said()[0] == "new.in_progress"
    assert t.stage == Stage.THEMES


def test_start_mid_intake_resumes() -> None:
    t = to_themes(Transcript())
    t.command("start")
    assert t.said()[0] == "start.resume"
    assert t.stage == Stage.THEMES


def test_idle_text_is_kept_on_the_case() -> None:
    t = full_intake(Transcript())
    t.press("confirm")
    out = t.say("Au fait, nous avons aussi un souci de chauffage.")
    assert t.stage == Stage.IDLE
    added = [e for e in out.effects if isinstance(e, AddCaseMessage)]
    assert added and added[0].ref == "AIG-0001"
    assert t.said() == ["idle.added"]


def test_state_roundtrips_through_json() -> None:
    t = full_intake(Transcript())
    assert t.state is not None
    assert State.from_json(t.state.to_json()) == t.state


def test_unknown_stage_in_storage_falls_back() -> None:
    state = State.from_json({"stage": "from-the-future", "answers": {"lieu_name": "X"}})
    assert state.stage == Stage.SUMMARY


def test_english_person_gets_english() -> None:
    t = Transcript()
    t.ctx = replace(t.ctx, locale_hint="en-GB")
    t.say("hello")
    assert t.state is not None and t.state.locale == "en"
    assert "Hello and welcome" in t.text("en")
    t.say("yes")
    assert t.stage == Stage.LIEU_NAME


def test_callback_data_fits_telegram_limit() -> None:
    t = full_intake(Transcript())
    t.press("edit")
    for b in t.buttons():
        assert 1 <= len(b.data.encode()) <= 64


def test_case_is_submitted_in_the_conversation_language() -> None:
    t = Transcript()
    t.ctx = replace(t.ctx, locale_hint="en-US")
    full_intake(t)
    out = t.press("confirm")
    (submitted,) = [e for e in out.effects if isinstance(e, SubmitCase)]
    assert submitted.locale == "en"


def test_fin_without_an_aiguilleur_says_so() -> None:
    t = to_themes(Transcript())
    t.command("fin")
    assert t.said()[0] == "relay.nothing_to_end"
    assert t.stage == Stage.THEMES


# -- the welcome and the summary edited in place (issue 14, item 9) ------------------


def test_welcome_is_short_plain_and_counts_the_questions_really_asked() -> None:
    t = Transcript()
    t.say("bonjour")
    welcome = t.text()
    for jargon in ("communs", "RGPD", "transition", "coordinateur", "aiguilleur", "dizaine"):
        assert jargon not in welcome, jargon
    # The number promised is the number of questions the intake then asks.
    asked: set[Stage] = set()
    t = Transcript()
    for step in (
        lambda: t.say("bonjour"),
        lambda: t.press("yes"),
        lambda: t.say("La Fabrique du Coin"),
        lambda: t.say("29200"),
        lambda: t.press("yes"),
        lambda: t.press("role:benevole"),
        lambda: t.press("th:gestion"),
        lambda: t.press("done"),
        lambda: t.say("On galère avec nos adhésions, tout est dans un tableur."),
        lambda: t.press("none"),
        lambda: t.say("Un outil simple."),
        lambda: t.say("Pas de budget"),
        lambda: t.press("hp:decouvrir"),
        lambda: t.press("done"),
        lambda: t.press("ur:mois"),
    ):
        step()
        if t.stage is not None and t.stage in {stage for _, stage in FIELDS}:
            asked.add(t.stage)
    assert t.stage == Stage.SUMMARY
    assert f"Je vais vous poser {len(asked)} questions" in welcome
    assert len(welcome) < 500


def test_an_edit_updates_the_summary_message_in_place() -> None:
    t = full_intake(Transcript())
    assert t.stage == Stage.SUMMARY
    edit = next(b for b in t.buttons() if b.data.endswith(":edit"))
    t.send(Choice(data=edit.data, message="42"))  # pressed on the summary, message #42
    assert t.stage == Stage.EDIT_PICK
    t.press("f:goal")
    out = t.say("Un logiciel libre que tout le monde comprend.")
    assert t.stage == Stage.SUMMARY
    in_place = [r for r in out.replies if isinstance(r, Edit) and r.message == "42"]
    assert len(in_place) == 1
    assert "summary.title" in [line.key for line in in_place[0].lines]
    assert [b.data.split(":")[1] for row in in_place[0].buttons for b in row] == [
        "confirm",
        "edit",
    ]
    said = [r for r in out.replies if isinstance(r, Say)]
    assert [line.key for r in said for line in r.lines] == ["summary.updated"]
    assert "Un logiciel libre que tout le monde comprend." in t.text()
    # The sheet's buttons (same version) confirm it.
    out = t.send(Choice(data=in_place[0].buttons[0][0].data, message="42"))
    assert any(isinstance(e, SubmitCase) for e in out.effects)


def test_after_a_restart_the_summary_is_posted_again() -> None:
    t = full_intake(Transcript())
    edit = next(b for b in t.buttons() if b.data.endswith(":edit"))
    t.send(Choice(data=edit.data, message="42"))
    t.command("recommencer")
    t.press("yes")
    assert t.state is not None and t.state.sheet_message is None
