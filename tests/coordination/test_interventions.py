"""``/intervention`` on Telegram: the aiguilleur who took a case on records their
time and its funding, a coordinator may record it for them, anyone else is
refused; each record is on the case's timeline and the answer sums the case."""

from __future__ import annotations

from storage.models.assignment import CLOSED, DECLINED, Assignment
from tests.coordination.support import T0, Desk, aiguilleur_row, ask, command_log, make_case


async def assign(desk: Desk, ref: str, aiguilleur: str, state: str) -> None:
    async with desk.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        uow.session.add(
            Assignment(
                case_id=case.id,
                aiguilleur_id=aiguilleur,
                state=state,
                room_id=f"!{aiguilleur}:example.org",
                offered_at=T0,
                updated_at=T0,
            )
        )


async def test_interventions_are_recorded_and_summed(desk: Desk) -> None:
    ref = await make_case(desk.db, {})
    other = await make_case(desk.db, {"place": {"region": "PDL", "departement": "44"}})
    async with desk.db.unit() as uow:
        uow.session.add(aiguilleur_row("dominique"))
    await assign(desk, ref, "dominique", DECLINED)
    await assign(desk, ref, "camille-durand", CLOSED)

    first = await ask(desk.aiguilleur, f"/intervention {ref} 1h30 subvention appel & visite")
    assert f"Intervention notée sur {ref} : 1 h 30 pour Camille Durand (subvention)" in first
    assert f"Total pour {ref} : 1 h 30 en 1 intervention(s)" in first
    second = await ask(desk.aiguilleur, f"/intervention {ref.lower()} 45min salaried")
    assert "temps salarié d'une structure" in second and "2 h 15 en 2" in second
    # The coordinator records for the aiguilleur who held the case.
    third = await ask(desk.coordinator, f"/intervention {ref} 30 contributif")
    assert "30 min pour Camille Durand (budget contributif)" in third
    assert "2 h 45 en 3" in third

    refused = await ask(desk.aiguilleur, f"/intervention {other} 1h subvention")
    assert "ne vous a pas été confié" in refused
    nobody = await ask(desk.coordinator, f"/intervention {other} 1h subvention")
    assert "Attribuez d'abord le dossier" in nobody
    assert "pas de dossier AIG-0099" in await ask(desk.coordinator, "/intervention 99 1h auto")
    assert "s'écrit ainsi" in await ask(desk.aiguilleur, f"/intervention {ref} 1h mécénat")
    assert "réservée aux aiguilleur·euses" in await ask(
        desk.stranger, f"/intervention {ref} 1h subvention"
    )

    async with desk.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        rows = await uow.interventions.of_case(case.id)
        events = [e for e in await uow.cases.timeline(case) if e.kind == "intervention"]
    assert [(r.aiguilleur_id, r.minutes, r.funding) for r in rows] == [
        ("camille-durand", 90, "subvention"),
        ("camille-durand", 45, "salarie"),
        ("camille-durand", 30, "contributif"),
    ]
    assert rows[0].note == "appel & visite" and rows[2].recorded_by.startswith("coordinator:")
    assert [e.data["minutes"] for e in events] == [90, 45, 30]
    assert events[0].actor == "aiguilleur:camille-durand"
    log = await command_log(desk.db)
    assert log.count(("aiguilleur", "intervention", "ok")) == 2
    assert ("aiguilleur", "intervention", "refused") in log
    assert ("anyone", "intervention", "refused") in log


async def test_regional_coordinators_record_in_their_regions_only(desk: Desk) -> None:
    ref = await make_case(desk.db, {})  # Bretagne
    await assign(desk, ref, "camille-durand", CLOSED)
    await ask(desk.coordinator, "/coordinateur ajouter 700003 pdl")
    scoped = desk.tg.user(first_name="Pia", user_id=700_003, language_code="fr")
    assert "pas partie de vos régions" in await ask(scoped, f"/intervention {ref} 1h subvention")
