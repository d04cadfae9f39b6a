"""``intervention AIG-0042 1h30 subvention [note]``: the time an aiguilleur spent
on a case and how it was funded, for the impact report.

Who: an aiguilleur who took the case on (an accepted assignment, still open or
since closed, handed back or ended), or a coordinator whose régions include the
case's. A coordinator who is also an aiguilleur records their own time; another
records it for the aiguilleur who last held the case.
"""

from __future__ import annotations

from bot.coordination.call import AdminCall
from bot.coordination.registry import handles
from dialogs.coordination.commands import DURATION, FUNDING
from dialogs.coordination.interventions import recorded
from dialogs.kernel.commands import Role
from dialogs.kernel.replies import msg


@handles("intervention")
async def record_intervention(call: AdminCall) -> None:
    parsed = call.parsed
    assert parsed is not None and parsed.ref is not None
    minutes, funding = parsed.get(DURATION), parsed.get(FUNDING)
    case = await call.uow.cases.by_ref(parsed.ref)
    if case is None:
        await call.not_found(msg("admin.intervention.unknown_case", ref=parsed.ref))
        return
    mine = call.actor.aiguilleur_id
    if call.actor.role == Role.COORDINATOR:
        if not call.in_scope(case.region):
            await call.refuse(msg("admin.intervention.out_of_scope", ref=case.ref))
            return
        aiguilleur = mine or await call.uow.interventions.last_worker(case.id)
        if aiguilleur is None:
            await call.say(msg("admin.intervention.nobody", ref=case.ref))
            return
    elif mine is not None and await call.uow.interventions.worked_on(case.id, mine):
        aiguilleur = mine
    else:
        await call.refuse(msg("admin.intervention.not_yours", ref=case.ref))
        return
    await call.uow.interventions.add(
        case_id=case.id,
        aiguilleur_id=aiguilleur,
        minutes=minutes,
        funding=funding,
        note=parsed.text,
        recorded_by=call.actor.label,
        now=call.now,
    )
    data: dict[str, object] = {
        "aiguilleur": aiguilleur,
        "minutes": minutes,
        "funding": funding,
    }
    if parsed.text:
        data["note"] = parsed.text
    await call.uow.cases.add_event(
        case, actor=call.actor.label, kind="intervention", data=data, now=call.now
    )
    total = await call.uow.interventions.case_total(case.id)
    person = await call.uow.catalog.aiguilleur(aiguilleur)
    name = person.name if person is not None else aiguilleur
    await call.say(*recorded(case.ref, minutes, funding, name, total.count, total.minutes))
