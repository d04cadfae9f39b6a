"""What the pure desk (`dialogs.assignment.desk`) looks at, loaded from a unit
of work: who acts, the case, the assignment."""

from __future__ import annotations

from bot.intake.case_views import answers_of
from dialogs.assignment.desk import ActorView, AssignmentView, CaseView
from storage.db import UnitOfWork
from storage.models.assignment import Assignment
from storage.models.core import Case


async def actor_view(uow: UnitOfWork, matrix_id: str) -> ActorView | None:
    row = await uow.matrix.aiguilleur_by_matrix_id(matrix_id)
    return ActorView(id=row.id, name=row.name, available=row.available) if row else None


async def name_of(uow: UnitOfWork, aiguilleur_id: str) -> str:
    row = await uow.catalog.aiguilleur(aiguilleur_id)
    return row.name if row is not None else aiguilleur_id


async def case_view(uow: UnitOfWork, case: Case) -> CaseView:
    person = await uow.people.by_id(case.person_id) if case.person_id else None
    return CaseView(
        ref=case.ref,
        status=case.status,
        lieu_name=case.lieu_name,
        person_name=person.display_name if person else None,
        themes=tuple(case.themes or ()),
        region=case.region,
        answers=answers_of(case),
    )


async def assignment_view(uow: UnitOfWork, row: Assignment, case: Case) -> AssignmentView:
    return AssignmentView(
        id=row.id,
        ref=case.ref,
        aiguilleur_id=row.aiguilleur_id,
        aiguilleur_name=await name_of(uow, row.aiguilleur_id),
        state=row.state,
        room_id=row.room_id,
        thread_root=row.offer_event_id,
        deadline=row.deadline,
        contacts_shared=row.contacts_shared,
    )


async def case_of(uow: UnitOfWork, row: Assignment) -> Case:
    case = await uow.cases.by_id(row.case_id)
    assert case is not None  # the foreign key cascades
    return case
