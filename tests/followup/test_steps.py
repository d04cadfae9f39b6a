"""The follow-up flow as transcripts: pure `step`, no I/O, microseconds."""

from __future__ import annotations

from dataclasses import replace

from dialogs.followup.steps import MAX_DEFERRALS, answer_buttons
from dialogs.kernel.context import CaseSummary, NudgeView, Reminder
from dialogs.kernel.effects import (
    CaseVerified,
    Escalate,
    ImpactRecorded,
    ImpactStep,
    NudgeAnswered,
    NudgeAsked,
    NudgeCancelled,
    NudgeDeferred,
    NudgeSnoozed,
)
from dialogs.kernel.events import Choice, NudgeDue, NudgeUnanswered, Text
from dialogs.kernel.replies import ClearButtons, Edit, Say
from dialogs.kernel.state import Stage, State
from tests.kernel.transcript import NOW, Transcript, full_intake

REF = "AIG-0001"
RECALLED = Reminder(
    problem="Nos adhésions sont dans un tableur que plus personne ne comprend, et les relances "
    "de cotisation partent à la main chaque trimestre depuis des années.",
    resources=("Dolibarr", "Framadate"),
    contact=True,
)


def idle_person() -> Transcript:
    t = full_intake(Transcript())
    t.press("confirm")
    assert t.stage == Stage.IDLE
    summary = CaseSummary(ref=REF, status="nouveau", created_at=NOW, lieu_name="La Fabrique")
    t.ctx = replace(t.ctx, cases=(summary,))
    return t


def with_nudge(t: Transcript, **fields: object) -> NudgeView:
    view = NudgeView(**{"id": 7, "ref": REF, "kind": "ouverture", **fields})  # type: ignore[arg-type]
    t.ctx = replace(t.ctx, nudge=view)
    return view


def data_of(t: Transcript) -> list[str]:
    return [b.data for b in t.buttons()]


def test_due_nudge_asks_with_five_answers_and_counts_as_sent() -> None:
    t = idle_person()
    out = t.send(NudgeDue(nudge_id=7, case_ref=REF, kind="ouverture", reminder=RECALLED))
    assert t.said() == [
        "followup.intro",
        "followup.recall.problem",
        "followup.recall.resources",
        "followup.ask.ouverture",
    ]
    assert data_of(t) == ["f:7:lance", "f:7:cours", "f:7:pas", "f:7:aide", "f:7:plus"]
    assert out.effects == (NudgeAsked(nudge_id=7),)
    assert t.stage == Stage.IDLE
    assert "AIG-0001" in t.text() and "La Fabrique" in t.text()
    assert "ouvrir les ressources" in t.text() and "Dolibarr, Framadate" in t.text()
    # The problem is recalled in its first words, cut between two words.
    assert "Nos adhésions sont dans un tableur" in t.text() and "…" in t.text()


def test_the_first_question_mentions_contact_only_to_who_asked_for_it() -> None:
    for reminder, key in (
        (RECALLED, "followup.ask.ouverture"),
        (replace(RECALLED, contact=False), "followup.ask.ouverture.resources"),
        (replace(RECALLED, resources=()), "followup.ask.ouverture.contact"),
        (Reminder(), "followup.ask.ouverture.none"),
    ):
        t = idle_person()
        t.send(NudgeDue(nudge_id=7, case_ref=REF, kind="ouverture", reminder=reminder))
        assert t.said()[-1] == key


def test_button_data_fits_telegram_limit() -> None:
    for row in answer_buttons(2**31):
        for button in row:
            assert len(button.data.encode()) <= 64


def test_nudge_waits_while_a_new_intake_is_in_progress() -> None:
    t = idle_person()
    t.command("nouveau")
    in_intake = t.state
    out = t.send(NudgeDue(nudge_id=7, case_ref=REF, kind="demarrage"))
    assert out.replies == ()
    assert out.effects == (NudgeDeferred(nudge_id=7, minutes=60),)
    assert t.state == in_intake
    # After MAX_DEFERRALS it is sent anyway; the intake keeps its place.
    out = t.send(NudgeDue(nudge_id=7, case_ref=REF, kind="demarrage", deferrals=MAX_DEFERRALS))
    assert out.effects == (NudgeAsked(nudge_id=7),)
    assert t.state == in_intake


def test_nudge_for_a_forgotten_conversation_is_cancelled() -> None:
    t = Transcript()
    out = t.send(NudgeDue(nudge_id=3, case_ref=REF, kind="impact"))
    assert out.state is None and out.replies == ()
    assert out.effects == (NudgeCancelled(nudge_id=3, reason="forgotten"),)


def test_cest_lance_verifies_and_leaves_impact_to_the_impact_nudge() -> None:
    t = idle_person()
    t.send(NudgeDue(nudge_id=7, case_ref=REF, kind="ouverture"))
    with_nudge(t, reminder=replace(RECALLED, impact_later=True))
    out = t.send(Choice(data="f:7:lance"))
    assert isinstance(out.replies[0], Edit)  # the question keeps the chosen answer
    assert out.effects == (
        NudgeAnswered(nudge_id=7, answer="lance"),
        CaseVerified(ref=REF, nudge_id=7),
    )
    assert t.said()[-1] == "followup.verified.later"
    # The impact nudge of the verified case asks what changed, straight away.
    verified = replace(RECALLED, verified=True)
    out = t.send(NudgeDue(nudge_id=9, case_ref=REF, kind="impact", reminder=verified))
    assert out.effects == (NudgeAsked(nudge_id=9), ImpactStep(nudge_id=9, step="ressources"))
    assert t.said()[-2:] == ["followup.impact.intro", "followup.impact.ressources.ask"]
    assert data_of(t) == ["f:9:i:ressources:skip"]


def test_cest_lance_on_the_impact_nudge_asks_the_impact_questions() -> None:
    t = idle_person()
    t.send(NudgeDue(nudge_id=7, case_ref=REF, kind="impact"))
    with_nudge(t, kind="impact")
    out = t.send(Choice(data="f:7:lance"))
    assert out.effects == (
        NudgeAnswered(nudge_id=7, answer="lance"),
        CaseVerified(ref=REF, nudge_id=7),
        ImpactStep(nudge_id=7, step="ressources"),
    )
    assert "followup.impact.ressources.ask" in t.said()

    with_nudge(t, answer="lance", impact_step="ressources")
    out = t.say("Dolibarr à la place du tableur, et Framadate pour les réunions")
    assert out.effects[0] == ImpactRecorded(
        nudge_id=7,
        field="ressources",
        value={"text": "Dolibarr à la place du tableur, et Framadate pour les réunions"},
    )
    assert out.effects[1] == ImpactStep(nudge_id=7, step="heures")
    assert "f:7:i:heures:5-10" in data_of(t)

    with_nudge(t, answer="lance", impact_step="heures")
    out = t.say("environ 6,5 heures")
    assert out.effects[0] == ImpactRecorded(nudge_id=7, field="heures", value={"value": 6.5})

    with_nudge(t, answer="lance", impact_step="contacts")
    out = t.send(Choice(data="f:7:i:contacts:3-5"))
    assert out.effects == (
        ImpactRecorded(nudge_id=7, field="contacts", value={"range": "3-5"}),
        ImpactStep(nudge_id=7, step=None),
    )
    assert t.said()[-1] == "followup.impact.done"
    assert t.stage == Stage.IDLE


def test_impact_questions_can_be_skipped_and_hours_need_a_number() -> None:
    t = idle_person()
    with_nudge(t, answer="lance", impact_step="ressources")
    out = t.send(Choice(data="f:7:i:ressources:skip"))
    assert out.effects == (ImpactStep(nudge_id=7, step="heures"),)
    with_nudge(t, answer="lance", impact_step="heures")
    out = t.say("beaucoup")
    assert out.effects == ()
    assert t.said() == ["followup.impact.heures.invalid", "followup.impact.heures.ask"]
    # A button of a question already answered is stale.
    out = t.send(Choice(data="f:7:i:ressources:skip"))
    assert out.toast is not None and out.toast.key == "button.stale" and out.effects == ()


def test_en_cours_and_pas_encore_are_noted() -> None:
    for choice in ("cours", "pas"):
        t = idle_person()
        with_nudge(t)
        out = t.send(Choice(data=f"f:7:{choice}"))
        assert out.effects == (NudgeAnswered(nudge_id=7, answer=choice),)
        assert t.said()[-1] == f"followup.noted.{choice}"


def test_help_escalates() -> None:
    t = idle_person()
    with_nudge(t)
    out = t.send(Choice(data="f:7:aide"))
    assert out.effects == (
        NudgeAnswered(nudge_id=7, answer="aide"),
        Escalate(ref=REF, reason="help", nudge_id=7),
        ImpactStep(nudge_id=7, step="aide"),
    )
    assert t.said()[-1] == "followup.help_ack"
    # What the person writes next goes to the human alerted, once.
    with_nudge(t, answer="aide", impact_step="aide")
    out = t.say("On ne sait pas installer Dolibarr")
    assert out.effects == (
        Escalate(ref=REF, reason="help_text", nudge_id=7, text="On ne sait pas installer Dolibarr"),
        ImpactStep(nudge_id=7, step=None),
    )
    assert t.said() == ["followup.help_forwarded"]
    # A forged impact button naming the help step is stale, never a crash.
    out = t.send(Choice(data="f:7:i:aide:skip"))
    assert out.toast is not None and out.toast.key == "button.stale"


def test_help_with_nobody_to_alert_says_so() -> None:
    t = idle_person()
    with_nudge(t, reachable=False)
    out = t.send(Choice(data="f:7:aide"))
    assert out.effects == (
        NudgeAnswered(nudge_id=7, answer="aide"),
        Escalate(ref=REF, reason="help", nudge_id=7),
    )
    assert t.said()[-1] == "followup.help_nobody"


def test_a_proposals_message_left_open_does_not_hold_a_nudge() -> None:
    t = idle_person()
    t.state = replace(t.state, stage=Stage.PROPOSALS)
    out = t.send(NudgeDue(nudge_id=7, case_ref=REF, kind="ouverture"))
    assert out.effects == (NudgeAsked(nudge_id=7),)
    with_nudge(t)
    out = t.say("On a regardé Dolibarr")
    assert out.effects == (NudgeAnswered(nudge_id=7, answer="texte", text="On a regardé Dolibarr"),)


def test_snooze_offers_delays_then_snoozes() -> None:
    t = idle_person()
    with_nudge(t)
    out = t.send(Choice(data="f:7:plus"))
    assert out.effects == ()
    assert isinstance(out.replies[0], Edit)
    assert data_of(t) == ["f:7:plus:7", "f:7:plus:14", "f:7:plus:30", "f:7:menu"]
    out = t.send(Choice(data="f:7:menu"))
    assert data_of(t)[0] == "f:7:lance"
    out = t.send(Choice(data="f:7:plus:14"))
    assert out.effects == (
        NudgeAnswered(nudge_id=7, answer="plus_tard"),
        NudgeSnoozed(nudge_id=7, days=14),
    )
    assert t.said()[-1] == "followup.snoozed"


def test_answered_nudge_buttons_get_a_toast_and_change_nothing() -> None:
    t = idle_person()
    with_nudge(t, answer="cours")
    before = t.state
    out = t.send(Choice(data="f:7:lance"))
    assert out.effects == ()
    assert out.toast is not None and out.toast.key == "followup.already"
    assert out.replies == (ClearButtons(),)
    assert t.state == before


def test_forged_or_unknown_nudge_button_is_stale() -> None:
    t = idle_person()
    for data in ("f:8:lance", "f:x:lance", "f:7", "f:7:boom"):
        with_nudge(t)
        out = t.send(Choice(data=data))
        assert out.effects == ()
        assert out.toast is not None
    t.ctx = replace(t.ctx, nudge=None)
    out = t.send(Choice(data="f:7:lance"))
    assert out.toast is not None and out.toast.key == "button.stale"


def test_free_text_answers_the_open_nudge_and_buttons_stay_usable() -> None:
    t = idle_person()
    with_nudge(t)
    out = t.say("On a installé Dolibarr, on se forme la semaine prochaine.")
    assert out.effects == (
        NudgeAnswered(
            nudge_id=7,
            answer="texte",
            text="On a installé Dolibarr, on se forme la semaine prochaine.",
        ),
    )
    assert t.said() == ["followup.text_noted"]
    with_nudge(t, answer="texte")
    out = t.send(Choice(data="f:7:lance"))
    assert any(isinstance(e, CaseVerified) for e in out.effects)


def test_text_without_open_nudge_goes_to_the_case_as_before() -> None:
    t = idle_person()
    with_nudge(t, answer="texte")
    t.say("Une précision sur notre demande")
    assert t.said()[0] == "idle.added"


def test_buttons_of_a_nudge_work_in_the_middle_of_an_intake() -> None:
    t = idle_person()
    t.command("nouveau")
    stage = t.stage
    with_nudge(t)
    out = t.send(Choice(data="f:7:pas"))
    assert out.effects == (NudgeAnswered(nudge_id=7, answer="pas"),)
    assert t.stage == stage
    # The intake's question comes again after the nudge's answer, buttons valid.
    assert t.said()[-1] == out.replies[-1].lines[-1].key  # type: ignore[union-attr]
    assert isinstance(out.replies[-1], Say) and out.replies[-1].lines[-1].key.startswith("intake.")
    # Typed text still belongs to the intake.
    out = t.say("Le Tiers-Lieu des Possibles")
    assert out.effects == () and t.stage != stage


def test_silence_escalates_without_a_word_to_the_person() -> None:
    t = idle_person()
    out = t.send(NudgeUnanswered(nudge_id=7, case_ref=REF, kind="demarrage"))
    assert out.replies == ()
    assert out.effects == (Escalate(ref=REF, reason="silence", nudge_id=7),)


def test_english_speakers_get_english_nudges() -> None:
    t = Transcript()
    t.state = State(stage=Stage.IDLE, locale="en", consented=True)
    t.ctx = replace(
        t.ctx,
        cases=(CaseSummary(ref=REF, status="nouveau", created_at=NOW, lieu_name="Hub"),),
    )
    t.send(NudgeDue(nudge_id=1, case_ref=REF, kind="demarrage"))
    assert "Has the action started?" in t.text("en")
    reply = t.last.replies[0] if t.last else None
    assert isinstance(reply, Say)


def test_every_event_kind_in_followup_never_raises() -> None:
    t = idle_person()
    events = [
        Text(text=""),
        Text(text="   "),
        Choice(data="f:"),
        Choice(data="f::"),
        Choice(data="f:7:i"),
        Choice(data="f:7:i:heures:999"),
        Choice(data="f:7:plus:8"),
        NudgeDue(nudge_id=7, case_ref="AIG-9999", kind="impact"),
    ]
    for impact_step in (None, "ressources", "heures", "contacts"):
        for event in events:
            with_nudge(t, impact_step=impact_step)
            t.send(event)


def test_nudge_button_after_the_conversation_was_erased_changes_nothing() -> None:
    t = Transcript()
    with_nudge(t)
    out = t.send(Choice(data="f:7:lance"))
    assert out.state is None and out.effects == ()
    assert out.toast is not None and out.toast.key == "button.stale"
