"""The person's side of the desk, inside the person's own unit of work (the
runtime's `Desk`, bot/runtime/core.py): who holds their case, their messages
relayed to the aiguilleur, their contact requests."""

from __future__ import annotations

from bot.assignment.executor import DeskExecutor
from bot.assignment.views import assignment_view, case_of, case_view, name_of
from dialogs.assignment.desk import FindAiguilleur, contacts_shared, from_person, person_ended
from dialogs.kernel.context import RelayView
from dialogs.kernel.effects import EndRelay, RelayEffect, RelayToAiguilleur, ShareContacts
from storage.db import UnitOfWork
from storage.models.assignment import ACCEPTED
from storage.models.core import Case


def contact_link(transport: str, external_id: str) -> str:
    return f"tg://user?id={external_id}" if transport == "telegram" else external_id


class PersonDesk:
    def __init__(self, executor: DeskExecutor) -> None:
        self.executor = executor
        self.coordinators_room = executor.coordinators_room

    async def relay_view(self, uow: UnitOfWork, person_id: int) -> RelayView | None:
        found = await uow.assignments.held_for_person(person_id)
        if found is None:
            return None
        row, case = found
        if not row.room_id:
            return None  # assigned without a Matrix room: nothing to relay to
        return RelayView(
            assignment_id=row.id,
            ref=case.ref,
            aiguilleur_name=await name_of(uow, row.aiguilleur_id),
            noted=row.person_noted,
            contacts_shared=row.contacts_shared,
        )

    async def relay(self, uow: UnitOfWork, effect: RelayEffect, person_id: int | None) -> None:
        row = await uow.assignments.get(effect.assignment_id)
        if row is None or row.state != ACCEPTED:
            return
        case = await case_of(uow, row)
        if person_id is None or case.person_id != person_id:
            return  # a forged or foreign button
        held = await assignment_view(uow, row, case)
        view = await case_view(uow, case)
        match effect:
            case RelayToAiguilleur(text=text):
                row.person_noted = True
                effects = from_person(held, view, text)
            case EndRelay():
                effects = person_ended(held, view)
            case ShareContacts():
                person = await uow.people.by_id(person_id)
                if person is None:
                    return
                effects = contacts_shared(
                    held, view, contact_link(person.transport, person.external_id)
                )
        await self.executor.apply(uow, effects)

    async def contact_requested(self, uow: UnitOfWork, case: Case) -> None:
        await self.executor.apply(uow, (FindAiguilleur(ref=case.ref),))
