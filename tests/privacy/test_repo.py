"""Export and erasure of a person's data on SQLite and PostgreSQL: what the file
holds, what is gone, what remains, and that statistics still add up."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.db import Database
from storage.models.assignment import Assignment, CaseQueue
from storage.models.coordination import Inscription, Intervention, PendingAction
from storage.models.core import Case, CaseEvent, Conversation, OutboxMessage, Person
from storage.models.followup import Nudge
from storage.repos.privacy import ERASED
from tests.privacy.support import ROOM, Seeded, add_aiguilleurs, everything, seed_person

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LATER = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


async def erase(db: Database, who: Seeded) -> int:
    async with db.unit() as uow:
        return await uow.privacy.erase_person(
            person_id=who.person_id,
            transport="telegram",
            external_id=who.external_id,
            chats={("telegram", who.address)},
            by="person",
            now=LATER,
        )


async def test_export_holds_everything_about_the_person(database: Database) -> None:
    await add_aiguilleurs(database, NOW)
    who = await seed_person(database, 1, NOW)
    other = await seed_person(database, 2, NOW)
    async with database.unit() as uow:
        data = await uow.privacy.export(
            person_id=who.person_id,
            transport="telegram",
            address=who.address,
            external_id=who.external_id,
        )
    text = json.dumps(data, ensure_ascii=False)  # JSON-ready as it is
    assert other.tag not in text
    assert data["person"]["display_name"] == who.name
    assert data["person"]["external_id"] == who.external_id
    assert data["conversation"]["state"]["answers"]["lieu_name"] == f"Lieu {who.tag}"
    [case] = data["cases"]
    assert case["ref"] == who.ref
    assert case["sheet"]["problem"].startswith("Nos adhésions")
    assert case["sheet"]["commune"] == "Brest" and case["sheet"]["region"] == "BRE"
    assert case["interests"] == ["res-a"]
    kinds = [e["kind"] for e in case["events"]]
    assert kinds[:3] == ["submitted", "proposals", "interest_added"]
    assert f"Au fait {who.tag}" in text and f"Framaforms {who.tag}" in text
    assert [n["answer_text"] for n in case["nudges"]] == [f"On avance {who.tag}", None]
    # Who helped, by display name, with states and dates; no room, no reason.
    assert [(a["aiguilleur"], a["state"]) for a in case["assignments"]] == [
        ("Alix Martin", "declined"),
        ("Béa Dupont", "accepted"),
    ]
    assert ROOM not in text and f"Pas pour {who.tag}" not in text
    assert case["interventions"][0]["minutes"] == 90
    assert data["inscriptions"][0]["name"] == who.name
    assert data["forms_in_progress"][0]["kind"] == "inscription"


async def test_export_of_someone_unknown_is_empty(database: Database) -> None:
    async with database.unit() as uow:
        data = await uow.privacy.export(
            person_id=None, transport="telegram", address="5", external_id="5"
        )
    assert data == {
        "person": None,
        "conversation": None,
        "cases": [],
        "inscriptions": [],
        "forms_in_progress": [],
    }


async def test_erasure_leaves_nothing_personal_and_keeps_statistics(database: Database) -> None:
    await add_aiguilleurs(database, NOW)
    who = await seed_person(database, 1, NOW)
    other = await seed_person(database, 2, NOW)
    before = await everything(database)
    assert who.tag in before and who.external_id in before

    assert await erase(database, who) == 1

    after = await everything(database)
    for trace in (who.tag, who.external_id, who.name):
        assert trace not in after.replace(other.tag, "").replace(other.external_id, "")
    # The other person is untouched.
    assert other.name in after and f"Au fait {other.tag}" in after

    async with database.unit() as uow:
        s = uow.session
        assert await s.get(Person, who.person_id) is None
        assert (
            await s.scalar(select(Conversation).where(Conversation.address == who.address)) is None
        )
        case = await s.get(Case, who.case_id)
        assert case is not None
        # Anonymous statistics stay.
        assert (case.ref, case.region, case.themes, case.help, case.urgency) == (
            who.ref,
            "BRE",
            ["gestion", "numerique"],
            ["decouvrir"],
            "mois",
        )
        assert case.interests == ["res-a"] and case.created_at == NOW
        assert case.person_id is None and case.role is None and case.departement is None
        assert (case.lieu_name, case.commune, case.postal_code, case.problem) == (None,) * 4
        assert (case.tried, case.goal, case.constraints) == (None,) * 3
        # Nobody is left to follow up: the case is closed, its relay ended.
        assert case.status == "clos"
        events = (
            await s.scalars(
                select(CaseEvent).where(CaseEvent.case_id == who.case_id).order_by(CaseEvent.id)
            )
        ).all()
        kinds = Counter(e.kind for e in events)
        assert kinds["impact"] == 2 and kinds["message"] == 1 and kinds[ERASED] == 1
        assert all("text" not in e.data for e in events)
        erased = events[-1]
        assert erased.data == {"by": "person", "previous_status": "nouveau"}
        hours = [e.data["value"] for e in events if e.data.get("field") == "heures"]
        assert hours == [12]
        assert [e.data["resources"] for e in events if e.kind == "proposals"] == [
            ["res-a", "res-b"]
        ]
        nudges = (await s.scalars(select(Nudge).where(Nudge.case_id == who.case_id))).all()
        assert sorted(n.state for n in nudges) == ["answered", "cancelled"]
        assert {n.address for n in nudges} == {""} and {n.answer_text for n in nudges} == {None}
        assert [n.answer for n in nudges if n.state == "answered"] == ["texte"]
        assignments = (
            await s.scalars(
                select(Assignment).where(Assignment.case_id == who.case_id).order_by(Assignment.id)
            )
        ).all()
        assert [(a.aiguilleur_id, a.state) for a in assignments] == [
            ("alix", "declined"),
            ("bea", "ended"),
        ]
        assert {a.reason for a in assignments} == {None}
        assert await s.get(CaseQueue, who.case_id) is None
        intervention = await s.scalar(
            select(Intervention).where(Intervention.case_id == who.case_id)
        )
        assert intervention is not None
        assert (intervention.minutes, intervention.note) == (90, None)
        assert (
            await s.scalar(
                select(func.count())
                .select_from(PendingAction)
                .where(PendingAction.address == who.address)
            )
            == 0
        )
        assert (
            await s.scalar(
                select(func.count())
                .select_from(Inscription)
                .where(Inscription.external_id == who.external_id)
            )
            == 0
        )
        # Messages: those to the person and those naming their case are gone.
        remaining = (await s.scalars(select(OutboxMessage))).all()
        assert sorted(r.address for r in remaining) == sorted([other.address, ROOM])
        # Statistics across cases still add up.
        by_region = dict(
            (await s.execute(select(Case.region, func.count()).group_by(Case.region))).all()
        )
        assert by_region == {"BRE": 2}


async def test_erasure_is_idempotent_and_of_an_unknown_person_harmless(
    database: Database,
) -> None:
    await add_aiguilleurs(database, NOW)
    who = await seed_person(database, 1, NOW)
    await erase(database, who)
    first = await everything(database)
    assert await erase(database, who) == 0
    async with database.unit() as uow:
        assert (
            await uow.privacy.erase_person(
                person_id=None,
                transport="telegram",
                external_id="404",
                chats={("telegram", "404")},
                by="person",
                now=LATER,
            )
            == 0
        )
    assert await everything(database) == first


async def test_erasing_a_case_spares_the_person_and_their_other_cases(
    database: Database,
) -> None:
    await add_aiguilleurs(database, NOW)
    who = await seed_person(database, 1, NOW)
    async with database.unit() as uow:
        other = await uow.cases.create(
            person_id=who.person_id, locale="fr", sheet={"lieu_name": "Le Second"}, now=NOW
        )
        case = await uow.cases.by_id(who.case_id)
        assert case is not None
        await uow.privacy.erase_case(case, by="retention", now=LATER, settle=False)
        await uow.privacy.erase_case(case, by="retention", now=LATER, settle=False)
    async with database.unit() as uow:
        case = await uow.cases.by_id(who.case_id)
        assert case is not None and case.problem is None and case.person_id == who.person_id
        assert case.status == "nouveau"  # no settling: retention only sees closed cases
        kept = await uow.cases.by_id(other.id)
        assert kept is not None and kept.lieu_name == "Le Second"
        assert await uow.privacy.is_erased(who.case_id)
        events = await uow.cases.timeline(case)
        assert [e.kind for e in events].count(ERASED) == 1
        assert (await uow.people.by_id(who.person_id)) is not None
        # The accepted assignment is left to the aiguilleur: not settled.
        states = sorted(a.state for a in (await uow.session.scalars(select(Assignment))).all())
        assert states == ["accepted", "declined"]
