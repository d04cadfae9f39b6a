"""A person with something in every table that can hold their data, for the
export, erasure and retention tests. Every text they (or someone about them)
typed carries their tag, so "nothing left" is a search for the tag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models.base import Base
from storage.models.coordination import Inscription, Intervention, PendingAction
from tests.coordination.support import aiguilleur_row

MARK = "Zorglub"
ROOM = "!salon-alix:example.org"


@dataclass(frozen=True, slots=True)
class Seeded:
    tag: str
    person_id: int
    external_id: str
    address: str
    ref: str
    case_id: int
    name: str


async def add_aiguilleurs(db: Database, now: datetime) -> None:
    async with db.unit() as uow:
        for slug, name in (("alix", "Alix Martin"), ("bea", "Béa Dupont")):
            uow.session.add(aiguilleur_row(slug, name=name, created_at=now, updated_at=now))


async def seed_person(db: Database, number: int, now: datetime) -> Seeded:
    """Consent, a conversation, a case with its whole life: timeline, nudges, an
    offer declined and one accepted, an intervention, messages queued, an admin
    form and an inscription."""
    tag = f"{MARK}{number}"
    external = f"7700{number}123987"
    name = f"Zéphyrine {tag}"
    async with db.unit() as uow:
        person = await uow.people.record_consent(
            transport="telegram", external_id=external, display_name=name, locale="fr", now=now
        )
        await uow.conversations.save(
            None,
            transport="telegram",
            address=external,
            person_id=person.id,
            state={"stage": "idle", "answers": {"lieu_name": f"Lieu {tag}"}, "version": 3},
            now=now,
        )
        case = await uow.cases.create(
            person_id=person.id,
            locale="fr",
            sheet={
                "lieu_name": f"La Fabrique {tag}",
                "place": {
                    "departement": "29",
                    "commune": "Brest",
                    "postal_code": "29200",
                    "region": "BRE",
                },
                "region": "BRE",
                "role": f"animatrice {tag}",
                "themes": ["gestion", "numerique"],
                "problem": f"Nos adhésions {tag} sont dans un tableur illisible.",
                "tried": f"Un tableur partagé {tag}",
                "goal": f"Un outil simple {tag}",
                "constraints": f"Pas de budget {tag}",
                "help": ["decouvrir"],
                "urgency": "mois",
            },
            now=now,
        )
        await uow.cases.add_event(
            case, actor="person", kind="submitted", data={"themes": case.themes}, now=now
        )
        await uow.cases.record_proposals(case, ["res-a", "res-b"], ["alix", "bea"], now=now)
        await uow.cases.record_interest(case, "res-a", True, now=now)
        await uow.cases.add_event(
            case, actor="person", kind="message", data={"text": f"Au fait {tag}"}, now=now
        )
        asked, later = await uow.nudges.schedule(
            case_id=case.id,
            transport="telegram",
            address=external,
            locale="fr",
            steps=[("ouverture", now + timedelta(days=3)), ("impact", now + timedelta(days=45))],
            now=now,
        )
        await uow.nudges.answer(asked.id, answer="texte", text=f"On avance {tag}", now=now)
        await uow.cases.add_event(
            case,
            actor="person",
            kind="nudge_answer",
            data={"nudge": asked.id, "kind": "ouverture", "answer": "texte", "text": f"Ok {tag}"},
            now=now,
        )
        await uow.cases.add_event(
            case,
            actor="person",
            kind="impact",
            data={"nudge": later.id, "field": "heures", "value": 12},
            now=now,
        )
        await uow.cases.add_event(
            case,
            actor="person",
            kind="impact",
            data={"nudge": later.id, "field": "ressources", "text": f"Framaforms {tag}"},
            now=now,
        )
        declined = await uow.assignments.offer(
            case=case, aiguilleur_id="alix", room_id=ROOM, deadline=now, now=now
        )
        await uow.assignments.move(declined, "declined", now=now, reason=f"Pas pour {tag}")
        accepted = await uow.assignments.offer(
            case=case, aiguilleur_id="bea", room_id=ROOM, deadline=now, now=now
        )
        await uow.assignments.move(accepted, "accepted", now=now)
        await uow.cases.add_event(
            case, actor="bea", kind="note", data={"text": f"Appelée, {tag} motivée"}, now=now
        )
        await uow.assignments.enqueue(case.id, now)
        uow.session.add(
            Intervention(
                case_id=case.id,
                aiguilleur_id="bea",
                minutes=90,
                funding="contributif",
                note=f"Atelier avec {tag}",
                recorded_by="coord",
                at=now,
            )
        )
        await uow.outbox.enqueue(
            transport="telegram",
            address=external,
            payload={"kind": "send", "html": f"Votre fiche : {tag}", "buttons": []},
            now=now,
        )
        await uow.outbox.enqueue(
            transport="matrix",
            address=ROOM,
            payload={"kind": "send", "html": f"{case.ref} — {name} : {tag}", "thread": "$root"},
            now=now,
        )
        uow.session.add(
            PendingAction(
                transport="telegram",
                address=external,
                actor=external,
                kind="inscription",
                version=1,
                data={"name": name},
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
        uow.session.add(
            Inscription(
                transport="telegram",
                external_id=external,
                name=name,
                themes=["gestion"],
                regions=["BRE"],
                capacity=1,
                state="pending",
                created_at=now,
            )
        )
        await uow.session.flush()
        return Seeded(
            tag=tag,
            person_id=person.id,
            external_id=external,
            address=external,
            ref=case.ref,
            case_id=case.id,
            name=name,
        )


async def everything(db: Database) -> str:
    """Every row of every table, as text."""
    parts: list[str] = []
    async with db.unit() as uow:
        for table in Base.metadata.sorted_tables:
            rows = (await uow.session.execute(select(table))).all()
            parts.append(f"{table.name}: {[tuple(r) for r in rows]!r}")
    return "\n".join(parts)
