"""Case commands on Telegram: listing, sheet and timeline, assignment without
Matrix, closing and reopening, nudges — as coordinator, aiguilleur, stranger,
and as a coordinator scoped to one région."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from storage.db import Database
from storage.models.assignment import Assignment
from tests.coordination.support import T0, Desk, aiguilleur_row, ask, command_log, make_case, plain
from tests.transports.telegram.harness import next_question

SCOPED_ID = 700_003
IDF = {"lieu_name": "La Cantine", "place": {"departement": "75", "region": "IDF"}}
COMMANDS = (
    "/dossiers",
    "/dossier AIG-0001",
    "/assigner AIG-0001 camille-durand",
    "/reassigner AIG-0001 camille-durand",
    "/clore AIG-0001",
    "/rouvrir AIG-0001",
    "/relances AIG-0001",
    "/relances AIG-0001 reporter 7j",
    "/relances AIG-0001 annuler",
)


async def case_state(db: Database, ref: str) -> tuple[str, list[str]]:
    """The case's status and its timeline kinds."""
    async with db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        return case.status, [e.kind for e in await uow.cases.timeline(case)]


async def assignments(db: Database) -> list[tuple[str, str, str, str | None]]:
    async with db.unit() as uow:
        rows = await uow.session.scalars(select(Assignment).order_by(Assignment.id))
        return [(r.aiguilleur_id, r.state, r.room_id, r.reason) for r in rows]


async def schedule_nudges(db: Database, ref: str, now: datetime) -> None:
    async with db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        await uow.nudges.schedule(
            case_id=case.id,
            transport="telegram",
            address="123",
            locale="fr",
            steps=[("ouverture", now + timedelta(days=3)), ("demarrage", now + timedelta(days=14))],
            now=now,
        )


async def nudge_rows(db: Database, ref: str) -> list[tuple[str, datetime | None]]:
    async with db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        return [(n.state, n.due_at) for n in await uow.nudges.list_for_case(case.id)]


async def add_scoped_coordinator(db: Database, regions: list[str]) -> None:
    async with db.unit() as uow:
        await uow.coordination.add_coordinator(
            transport="telegram",
            external_id=str(SCOPED_ID),
            name="Régis",
            regions=regions,
            added_by="test",
            now=T0,
        )


async def test_only_coordinators_may_type_case_commands(desk: Desk) -> None:
    ref = await make_case(desk.db, {})
    for user in (desk.aiguilleur, desk.stranger):
        for command in COMMANDS:
            refused = await ask(user, command)
            assert "réservée aux coordinateur·ices" in refused, command
    assert await case_state(desk.db, ref) == ("nouveau", ["submitted"])
    logged = await command_log(desk.db)
    assert len(logged) == 2 * len(COMMANDS)
    assert {outcome for _, _, outcome in logged} == {"refused"}
    assert {role for role, _, _ in logged} == {"aiguilleur", "anyone"}
    assert {name for _, name, _ in logged} == {
        "dossiers",
        "dossier",
        "assigner",
        "reassigner",
        "clore",
        "rouvrir",
        "relances",
        "relances.reporter",
        "relances.annuler",
    }


async def test_listing_is_filtered_paged_and_newest_first(desk: Desk) -> None:
    refs = []
    for number in range(23):
        sheet: dict[str, Any] = {"lieu_name": f"Lieu {number}"}
        if number % 2:
            sheet["themes"] = ["numerique"]
        if number % 5 == 0:
            sheet.update(IDF)
        refs.append(await make_case(desk.db, sheet, now=T0 + timedelta(hours=number)))
    first = await ask(desk.coordinator, "/dossiers")
    assert "23 au total" in first
    lines = [line for line in first.splitlines() if line.startswith("• ")]
    assert [line.split()[1] for line in lines] == refs[::-1][:10]
    assert "Page 1/3 ; la suite : /dossiers page 2" in first
    last = await ask(desk.coordinator, "/dossiers page 3")
    assert "Page 3/3" in last and refs[0] in last and refs[3] not in last
    # Past the end: the last page.
    assert "Page 3/3" in await ask(desk.coordinator, "/dossiers page 9")

    numerique = await ask(desk.coordinator, "/dossiers numerique")
    assert "(Numérique) — 11 au total" in numerique and "Page 2/2" not in numerique
    assert "/dossiers numerique page 2" in numerique
    idf = await ask(desk.coordinator, "/dossiers idf nouveau")
    assert "5 au total" in idf and "Île-de-France" in idf and "Bretagne" not in idf
    assert "Aucun dossier ne correspond" in await ask(desk.coordinator, "/dossiers clos")
    # Line: ref, date (Paris), status, lieu, région, themes, who holds it.
    assert f"• {refs[22]} du 03/03/2026 — nouveau — Lieu 22 (Bretagne) — Gestion — sans" in first
    misused = await ask(desk.coordinator, "/dossiers n'importe-quoi")
    assert "s'écrit ainsi" in misused
    assert (await command_log(desk.db))[-1] == ("coordinator", "dossiers", "misused")


async def test_case_sheet_and_timeline(desk: Desk) -> None:
    ref = await make_case(desk.db, {"problem": "Nos adhésions sont dans un <b>tableur</b>."})
    async with desk.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        await uow.cases.record_proposals(case, ["nextcloud"], ["camille-durand"], now=T0)
        await uow.cases.add_event(
            case, actor="person", kind="relay_message", data={"length": 17}, now=T0
        )
        await uow.cases.add_event(
            case, actor="camille-durand", kind="note", data={"text": "appel lundi"}, now=T0
        )
        await uow.cases.add_event(case, actor="bot", kind="brand_new_kind", data={}, now=T0)
    sheet = await ask(desk.coordinator, f"/dossier {ref.lower()}")
    assert f"Dossier {ref} — nouveau — reçu le 02/03/2026" in sheet
    assert "Nos adhésions sont dans un <b>tableur</b>." in sheet  # escaped, shown as typed
    assert "Brest" in sheet and "Gestion" in sheet
    assert "Historique" in sheet
    assert "02/03/2026 10h00 — la personne : envoie sa demande" in sheet
    assert (
        "Aiguillage : propose des ressources (nextcloud) et des aiguilleur·euses (Camille Durand)"
        in sheet
    )
    assert "la personne : message relayé (17 caractères)" in sheet
    assert "Camille Durand : note : « appel lundi »" in sheet
    assert "événement « brand_new_kind »" in sheet

    assert "Je ne trouve pas de dossier AIG-0099" in await ask(desk.coordinator, "/dossier 99")
    assert "s'écrit ainsi" in await ask(desk.coordinator, "/dossier")
    assert (await command_log(desk.db))[-3:] == [
        ("coordinator", "dossier", "ok"),
        ("coordinator", "dossier", "not_found"),
        ("coordinator", "dossier", "misused"),
    ]


async def test_assign_and_reassign_without_matrix(desk: Desk) -> None:
    ref = await make_case(desk.db, {})
    async with desk.db.unit() as uow:
        uow.session.add(aiguilleur_row("basile", capacity=1))
        uow.session.add(aiguilleur_row("ancien", active=False))

    answer = await ask(desk.coordinator, f"/assigner {ref} camille-durand")
    assert f"Dossier {ref} confié à Camille Durand" in answer
    assert "Camille Durand est prévenu·e sur Telegram" in answer
    told = plain((await next_question(desk.aiguilleur)).plain_text or "")
    assert f"Demande {ref} — La Fabrique : la coordination vous la confie" in told
    assert "Nos adhésions sont dans un tableur." in told and "mettra en relation" in told
    assert await assignments(desk.db) == [("camille-durand", "accepted", "", None)]
    status, kinds = await case_state(desk.db, ref)
    assert status == "attribue" and kinds[-1] == "assigned"
    listing = await ask(desk.coordinator, "/dossiers")
    assert "suivi par Camille Durand" in listing

    # Polite refusals: same person, someone else (→ reassigner), unknown, inactive.
    again = await ask(desk.coordinator, f"/assigner {ref} camille-durand")
    assert "Camille Durand suit déjà le dossier" in again
    other = await ask(desk.coordinator, f"/assigner {ref} basile")
    assert "déjà suivi par Camille Durand" in other and f"/reassigner {ref} basile" in other
    assert "Je ne connais pas" in await ask(desk.coordinator, f"/assigner {ref} personne")
    assert "Je ne connais pas" in await ask(desk.coordinator, f"/reassigner {ref} ancien")
    assert "Je ne trouve pas" in await ask(desk.coordinator, "/assigner AIG-0404 basile")

    moved = await ask(desk.coordinator, f"/reassigner {ref} basile")
    assert f"Dossier {ref} confié à Basile" in moved
    assert "Camille Durand, qui avait le dossier, est prévenu·e" in moved
    # Basile has neither a Matrix room nor Telegram: the coordinator is warned.
    assert "Je ne peux pas joindre Basile" in moved
    previous = plain((await next_question(desk.aiguilleur)).plain_text or "")
    assert f"confié la demande {ref} à quelqu'un d'autre" in previous
    assert await assignments(desk.db) == [
        ("camille-durand", "returned", "", "coordination"),
        ("basile", "accepted", "", None),
    ]
    _, kinds = await case_state(desk.db, ref)
    assert kinds.count("assigned") == 2
    sheet = await ask(desk.coordinator, f"/dossier {ref}")
    assert "Suivi : suivi par Basile" in sheet
    assert (
        "la coordination : confie le dossier à Basile, suivi jusque-là par Camille Durand" in sheet
    )

    # A full aiguilleur can still be chosen, with a reminder.
    second = await make_case(desk.db, {"lieu_name": "Le Bazar"})
    full = await ask(desk.coordinator, f"/assigner {second} basile")
    assert "Basile est déjà à sa capacité (dossiers en cours : 1 ; capacité : 1)" in full
    outcomes = [o for _, name, o in await command_log(desk.db) if name.endswith("assigner")]
    assert outcomes == [
        "ok",
        "refused",
        "refused",
        "not_found",
        "not_found",
        "not_found",
        "ok",
        "ok",
    ]


async def test_close_and_reopen(desk: Desk) -> None:
    ref = await make_case(desk.db, {})
    now = datetime.now(UTC)
    await schedule_nudges(desk.db, ref, now)
    await ask(desk.coordinator, f"/assigner {ref} camille-durand")
    await next_question(desk.aiguilleur)

    closed = await ask(desk.coordinator, f"/clore {ref} doublon de AIG-0002")
    assert f"Dossier {ref} clos" in closed and "Relances annulées : 2" in closed
    assert "Camille Durand, qui avait le dossier, est prévenu·e" in closed
    told = plain((await next_question(desk.aiguilleur)).plain_text or "")
    assert f"La coordination a clos la demande {ref}" in told
    assert [state for state, _ in await nudge_rows(desk.db, ref)] == ["cancelled", "cancelled"]
    assert (await assignments(desk.db))[-1][:2] == ("camille-durand", "closed")
    status, kinds = await case_state(desk.db, ref)
    assert status == "clos" and kinds[-1] == "case_closed"

    assert "déjà clos" in await ask(desk.coordinator, f"/clore {ref}")
    refused = await ask(desk.coordinator, f"/assigner {ref} camille-durand")
    assert f"est clos : rouvrez-le d'abord (/rouvrir {ref})" in refused

    reopened = await ask(desk.coordinator, f"/rouvrir {ref}")
    assert f"Dossier {ref} rouvert : nouveau" in reopened
    assert "n'est pas clos (statut : nouveau)" in await ask(desk.coordinator, f"/rouvrir {ref}")
    status, kinds = await case_state(desk.db, ref)
    assert status == "nouveau" and kinds[-2:] == ["case_closed", "case_reopened"]
    sheet = await ask(desk.coordinator, f"/dossier {ref}")
    assert "la coordination : clôt le dossier : « doublon de AIG-0002 »" in sheet
    assert "la coordination : rouvre le dossier (nouveau)" in sheet
    assert "Je ne trouve pas" in await ask(desk.coordinator, "/clore AIG-0404")


async def test_nudges_listed_postponed_and_cancelled(desk: Desk) -> None:
    ref = await make_case(desk.db, {})
    now = datetime.now(UTC)
    await schedule_nudges(desk.db, ref, now)
    before = await nudge_rows(desk.db, ref)

    listing = await ask(desk.coordinator, f"/relances {ref}")
    assert f"Relances du dossier {ref}" in listing
    assert "ouverture des ressources — prévue le" in listing
    assert f"/relances {ref} reporter 7j" in listing

    postponed = await ask(desk.coordinator, f"/relances {ref} reporter 7j")
    assert f"Relances en attente du dossier {ref} reportées de 7 jours (2)" in postponed
    after = await nudge_rows(desk.db, ref)
    for (_, due_before), (state, due_after) in zip(before, after, strict=True):
        assert state == "pending" and due_before and due_after
        assert due_after - due_before == timedelta(days=7)
    # The English alias and the sub-command first work too.
    assert "reportées de 1 jour (2)" in await ask(desk.coordinator, f"/nudges postpone {ref} 1")

    cancelled = await ask(desk.coordinator, f"/relances {ref} annuler")
    assert f"Relances en attente du dossier {ref} annulées (2)" in cancelled
    assert "annulée" in await ask(desk.coordinator, f"/relances {ref}")
    assert "Aucune relance en attente" in await ask(desk.coordinator, f"/relances {ref} annuler")
    assert "Aucune relance en attente" in await ask(
        desk.coordinator, f"/relances {ref} reporter 2sem"
    )
    _, kinds = await case_state(desk.db, ref)
    assert kinds.count("nudges_postponed") == 2 and kinds.count("nudges_cancelled") == 1
    none = await make_case(desk.db, {})
    assert f"Aucune relance pour le dossier {none}" in await ask(
        desk.coordinator, f"/relances {none}"
    )


async def test_a_regional_coordinator_sees_and_acts_on_their_regions_only(desk: Desk) -> None:
    await add_scoped_coordinator(desk.db, ["BRE"])
    regis = desk.tg.user(first_name="Régis", user_id=SCOPED_ID, language_code="fr")
    breton = await make_case(desk.db, {"lieu_name": "Ti Lab"})
    parisian = await make_case(desk.db, IDF, now=T0 + timedelta(hours=1))
    await schedule_nudges(desk.db, parisian, datetime.now(UTC))

    listing = await ask(regis, "/dossiers")
    assert "Vos régions : Bretagne" in listing and "1 au total" in listing
    assert breton in listing and parisian not in listing
    assert "ne fait pas partie de vos régions (Bretagne)" in await ask(regis, "/dossiers idf")
    for command in COMMANDS[1:]:
        refused = await ask(regis, command.replace("AIG-0001", parisian))
        assert "Ce dossier ne fait pas partie de vos régions (Bretagne)" in refused, command
    status, kinds = await case_state(desk.db, parisian)
    assert status == "nouveau" and kinds == ["submitted"]
    assert {s for s, _ in await nudge_rows(desk.db, parisian)} == {"pending"}

    # In their région they act like any coordinator; the national one sees all.
    assert "confié à Camille Durand" in await ask(regis, f"/assigner {breton} camille-durand")
    await next_question(desk.aiguilleur)
    assert "Dossier" in await ask(regis, f"/dossier {breton}")
    assert "clos" in await ask(regis, f"/clore {breton}")
    await next_question(desk.aiguilleur)
    national = await ask(desk.coordinator, "/dossiers")
    assert breton in national and parisian in national and "Vos régions" not in national
    sheet = await ask(desk.coordinator, f"/dossier {breton}")
    assert "Régis : confie le dossier à Camille Durand" in sheet
    logged = [(r, n, o) for r, n, o in await command_log(desk.db) if o == "refused"]
    assert len(logged) == len(COMMANDS)  # the filter and every case command


async def test_an_offer_waiting_for_the_chosen_aiguilleur_is_accepted_for_them(desk: Desk) -> None:
    ref = await make_case(desk.db, {})
    async with desk.db.unit() as uow:
        person = await uow.catalog.aiguilleur("camille-durand")
        case = await uow.cases.by_ref(ref)
        assert person is not None and case is not None
        person.capacity = 1
        await uow.assignments.offer(
            case=case, aiguilleur_id="camille-durand", room_id="", deadline=T0, now=T0
        )
    answer = await ask(desk.coordinator, f"/assigner {ref} camille-durand")
    # The offer itself does not count against their capacity.
    assert "confié à Camille Durand" in answer and "capacité" not in answer
    assert await assignments(desk.db) == [("camille-durand", "accepted", "", None)]
    assert "la coordination vous la confie" in plain(
        (await next_question(desk.aiguilleur)).plain_text or ""
    )
