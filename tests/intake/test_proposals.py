"""After confirmation: inferred themes to confirm, proposals, interest and contact."""

from __future__ import annotations

from dialogs.kernel.effects import RecordInterest, RequestContact
from dialogs.kernel.events import CaseCreated, ContactRouted, Suggestion
from dialogs.kernel.replies import Edit, msg
from dialogs.kernel.state import Stage
from tests.kernel.transcript import Transcript, full_intake


def to_problem_without_theme(t: Transcript) -> Transcript:
    t.say("bonjour")
    t.press("yes")
    t.say("La Ressourcerie")
    t.say("35000")
    t.press("yes")
    t.press("role:salarie")
    t.press("th:unknown")
    assert t.stage == Stage.PROBLEM
    return t


def test_unknown_themes_are_inferred_then_confirmed() -> None:
    t = to_problem_without_theme(Transcript())
    t.say("Notre facture d'électricité et de chauffage explose cet hiver, il faut isoler.")
    assert t.stage == Stage.THEMES_CONFIRM
    assert t.said()[0] == "intake.themes.inferred"
    assert "Énergie" in t.text()
    t.press("done")
    assert t.stage == Stage.TRIED
    assert t.state is not None and "energie" in t.state.answers["themes"]


def test_inferred_themes_can_be_corrected_or_left_empty() -> None:
    t = to_problem_without_theme(Transcript())
    t.say("Notre facture d'électricité et de chauffage explose cet hiver, il faut isoler.")
    t.press("th:energie")  # untick the suggestion
    t.press("th:financement")
    t.press("done")
    assert t.state is not None and t.state.answers["themes"] == ["financement"]
    t.command("retour")
    assert t.stage == Stage.PROBLEM
    t.say("Nous ne savons pas trop, il se passe beaucoup de choses en même temps.")
    if t.stage == Stage.THEMES_CONFIRM:
        t.press("th:unknown")
    assert t.stage == Stage.TRIED


def proposed(t: Transcript) -> Transcript:
    full_intake(t)
    t.press("confirm")
    ref = t.ctx.cases[0].ref
    why = (msg("why.replaces", tool="Excel"),)
    event = CaseCreated(
        ref=ref,
        resources=tuple(
            Suggestion(
                id=f"r{i}",
                name=f"Outil {i}",
                url=f"https://r{i}.example",
                summary="Un outil.",
                why=why,
            )
            for i in range(5)
        ),
        aiguilleurs=(Suggestion(id="camille", name="Camille", why=(msg("why.same_region"),)),),
    )
    t.send(event)
    return t


def test_proposals_show_three_resources_and_people() -> None:
    t = proposed(Transcript())
    assert t.stage == Stage.PROPOSALS
    text = t.text()
    assert "Outil 0" in text and "Outil 2" in text and "Outil 3" not in text
    assert "Camille" in text
    assert "https://r0.example" in text
    actions = [b.data.split(":", 1)[1] for b in t.buttons()]
    assert actions == ["like:0", "like:1", "like:2", "more", "contact", "done"]


def test_marking_interest_is_recorded_and_redrawn() -> None:
    t = proposed(Transcript())
    out = t.press("like:1")
    assert isinstance(out.replies[0], Edit)
    assert out.effects == (RecordInterest(ref="AIG-0001", resource_id="r1", interested=True),)
    out = t.press("like:1")
    assert out.effects == (RecordInterest(ref="AIG-0001", resource_id="r1", interested=False),)


def test_more_shows_the_next_resources() -> None:
    t = proposed(Transcript())
    t.press("more")
    assert "Outil 4" in t.text()
    assert "more" not in [b.data.split(":", 1)[1] for b in t.buttons()]


def test_asking_for_contact() -> None:
    t = proposed(Transcript())
    out = t.press("contact")
    assert RequestContact(ref="AIG-0001") in out.effects
    assert t.stage == Stage.IDLE
    # What is promised depends on where the runtime sent the request.
    t.send(ContactRouted(ref="AIG-0001", to="desk"))
    assert t.said() == ["proposals.contact_requested"]
    t.send(ContactRouted(ref="AIG-0001", to="coordinators"))
    assert t.said() == ["contact.routed.coordinators"]
    assert "équipe de coordination" in t.text()
    t.send(ContactRouted(ref="AIG-0001", to="queued"))
    assert t.said() == ["contact.routed.queued"]
    t.send(ContactRouted(ref="AIG-0001", to="nobody"))
    assert t.said() == ["contact.routed.nobody"]
    assert "personne de l'équipe n'est joignable" in t.text()


def test_contact_is_not_offered_when_nobody_could_take_it() -> None:
    t = full_intake(Transcript())
    t.press("confirm")
    ref = t.ctx.cases[0].ref
    resource = Suggestion(id="r0", name="Outil 0", url="https://r0.example", summary="Un outil.")
    t.send(CaseCreated(ref=ref, resources=(resource,), contact_possible=False))
    assert t.stage == Stage.PROPOSALS
    actions = [b.data.split(":", 1)[1] for b in t.buttons()]
    assert actions == ["like:0", "done"]
    assert "proposals.ask" not in t.said() and "proposals.ask.keep" in t.said()
    assert "mis·e en relation" not in t.text()
    # A forged or stale "contact" action changes nothing either.
    assert not any(isinstance(e, RequestContact) for e in t.effects)


def test_contact_chosen_as_help_is_requested_with_the_sheet_not_asked_again() -> None:
    t = full_intake(Transcript())
    t.command("retour")  # back to the urgency, then to the help wanted
    t.command("retour")
    assert t.stage == Stage.HELP
    t.press("hp:relation")
    t.press("done")
    t.press("ur:mois")
    t.press("confirm")
    ref = t.ctx.cases[0].ref
    resource = Suggestion(id="r0", name="Outil 0", url="https://r0.example", summary="Un outil.")
    person = Suggestion(id="camille", name="Camille")
    out = t.send(CaseCreated(ref=ref, resources=(resource,), aiguilleurs=(person,)))
    assert out.effects == (RequestContact(ref=ref),)
    assert "contact" not in [b.data.split(":", 1)[1] for b in t.buttons()]
    assert "proposals.ask" not in t.said()
    assert "Souhaitez-vous être mis·e en relation" not in t.text()


def test_text_during_proposals_is_kept_on_the_case() -> None:
    t = proposed(Transcript())
    t.say("Merci, on regarde ça en équipe.")
    assert t.stage == Stage.IDLE
    assert t.said() == ["idle.added"]


def test_no_proposal_means_no_proposals_stage() -> None:
    t = full_intake(Transcript())
    t.press("confirm")
    assert t.stage == Stage.IDLE
    assert t.said()[-1] == "case.created"
