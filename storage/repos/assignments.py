"""Offers of cases to aiguilleurs, and the queue of cases waiting for one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select

from dialogs.kernel.lifecycles import AssignmentState, check_assignment_move
from storage.models.assignment import ACCEPTED, OFFERED, OPEN_STATES, Assignment, CaseQueue
from storage.models.core import Case, Conversation
from storage.session import DbSession


class AssignmentsRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def offer(
        self,
        *,
        case: Case,
        aiguilleur_id: str,
        room_id: str,
        deadline: datetime | None,
        now: datetime,
    ) -> Assignment:
        """`deadline` None: it starts when the offer is posted (`set_offer_event`)."""
        row = Assignment(
            case_id=case.id,
            aiguilleur_id=aiguilleur_id,
            state=OFFERED.value,
            room_id=room_id,
            deadline=deadline,
            person_noted=False,
            contacts_shared=False,
            offered_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, assignment_id: int) -> Assignment | None:
        """Locked until commit on PostgreSQL: an accept and an expiry of the same
        offer never both win (SQLite already serialises writers)."""
        return await self.session.scalar(
            select(Assignment).where(Assignment.id == assignment_id).with_for_update()
        )

    async def open_for_case(self, case_id: int) -> Assignment | None:
        return await self.session.scalar(
            select(Assignment)
            .where(Assignment.case_id == case_id, Assignment.state.in_(OPEN_STATES))
            .order_by(Assignment.id.desc())
            .limit(1)
            .with_for_update()
        )

    async def open_rows_of_case(self, case_id: int) -> list[Assignment]:
        """Every open row of a case (at most one, unless a bug let two through)."""
        result = await self.session.scalars(
            select(Assignment)
            .where(Assignment.case_id == case_id, Assignment.state.in_(OPEN_STATES))
            .order_by(Assignment.id)
            .with_for_update()
        )
        return list(result.all())

    async def open_of_cases(self, case_ids: Sequence[int]) -> dict[int, Assignment]:
        """Case id → its open assignment (offered or accepted), for listings."""
        if not case_ids:
            return {}
        result = await self.session.scalars(
            select(Assignment)
            .where(Assignment.case_id.in_(list(case_ids)), Assignment.state.in_(OPEN_STATES))
            .order_by(Assignment.id)
        )
        return {row.case_id: row for row in result.all()}

    async def accepted_for_case(self, case_id: int) -> Assignment | None:
        """The latest accepted assignment: who holds the case now."""
        return await self.session.scalar(
            select(Assignment)
            .where(Assignment.case_id == case_id, Assignment.state == ACCEPTED)
            .order_by(Assignment.id.desc())
            .limit(1)
        )

    async def by_offer_event(self, event_id: str) -> Assignment | None:
        return await self.session.scalar(
            select(Assignment).where(Assignment.offer_event_id == event_id).with_for_update()
        )

    async def tried(self, case_id: int) -> set[str]:
        """Everyone this case was already offered to: never offered twice."""
        result = await self.session.scalars(
            select(Assignment.aiguilleur_id).where(Assignment.case_id == case_id)
        )
        return set(result.all())

    async def move(
        self,
        row: Assignment,
        state: AssignmentState | str,
        *,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        """The one writer of an assignment's state after its offer: checks the move
        against the table of dialogs/kernel/lifecycles.py (`ForbiddenMove` otherwise: a
        bug). The case's timeline entry is the caller's (a desk `Note`, or the
        coordinator's `assigned` / `case_closed`), which knows what to say."""
        row.state = check_assignment_move(row.state, state).value
        row.deadline = None
        row.decided_at = now
        row.updated_at = now
        if reason:
            row.reason = reason[:1000]
        await self.session.flush()

    async def set_offer_event(
        self, assignment_id: int, event_id: str, deadline: datetime | None = None
    ) -> None:
        """The offer is posted: its event id, and its deadline starts now."""
        row = await self.session.get(Assignment, assignment_id)
        if row is not None:
            self._posted(row, event_id, deadline)

    async def set_offer_event_by_txn(
        self, txn_id: str, event_id: str, deadline: datetime | None = None
    ) -> None:
        row = await self.session.scalar(select(Assignment).where(Assignment.offer_txn_id == txn_id))
        if row is not None:
            self._posted(row, event_id, deadline)

    def _posted(self, row: Assignment, event_id: str, deadline: datetime | None) -> None:
        # Whichever comes first (the send's answer or its echo in the sync) sets
        # both; an offer waiting for its posting never expires.
        if row.offer_event_id is None:
            row.offer_event_id = event_id
        if deadline is not None and row.state == OFFERED and row.deadline is None:
            row.deadline = deadline

    async def expired_ids(self, now: datetime) -> list[int]:
        result = await self.session.scalars(
            select(Assignment.id)
            .where(Assignment.state == OFFERED, Assignment.deadline <= now)
            .order_by(Assignment.deadline, Assignment.id)
        )
        return list(result.all())

    async def offered(self) -> list[Assignment]:
        """Offers waiting for an answer."""
        result = await self.session.scalars(
            select(Assignment).where(Assignment.state == OFFERED).order_by(Assignment.id)
        )
        return list(result.all())

    async def next_deadline(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(Assignment.deadline)).where(Assignment.state == OFFERED)
        )

    async def of_aiguilleur(
        self, aiguilleur_id: str, states: Sequence[str] = OPEN_STATES
    ) -> list[tuple[Assignment, Case]]:
        result = await self.session.execute(
            select(Assignment, Case)
            .join(Case, Case.id == Assignment.case_id)
            .where(Assignment.aiguilleur_id == aiguilleur_id, Assignment.state.in_(states))
            .order_by(Assignment.id)
        )
        return [(a, c) for a, c in result.all()]

    async def held_for_person(self, person_id: int) -> tuple[Assignment, Case] | None:
        """The accepted assignment of the person's most recent case, if any."""
        result = await self.session.execute(
            select(Assignment, Case)
            .join(Case, Case.id == Assignment.case_id)
            .where(Case.person_id == person_id, Assignment.state == ACCEPTED)
            .order_by(Assignment.decided_at.desc(), Assignment.id.desc())
            .limit(1)
        )
        found = result.first()
        return (found[0], found[1]) if found is not None else None

    async def person_chat(self, person_id: int) -> Conversation | None:
        """Where to write to the person: their most recent conversation."""
        return await self.session.scalar(
            select(Conversation)
            .where(Conversation.person_id == person_id)
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
            .limit(1)
        )

    # -- the queue ---------------------------------------------------------------

    async def enqueue(self, case_id: int, now: datetime) -> bool:
        """True when the case was not waiting already (tell the coordinators once)."""
        if await self.session.get(CaseQueue, case_id) is not None:
            return False
        self.session.add(CaseQueue(case_id=case_id, queued_at=now))
        await self.session.flush()
        return True

    async def dequeue(self, case_id: int) -> None:
        await self.session.execute(delete(CaseQueue).where(CaseQueue.case_id == case_id))

    async def waiting(self, limit: int = 50) -> list[Case]:
        result = await self.session.scalars(
            select(Case)
            .join(CaseQueue, CaseQueue.case_id == Case.id)
            .order_by(CaseQueue.queued_at, Case.id)
            .limit(limit)
        )
        return list(result.all())

    async def is_waiting(self, case_id: int) -> bool:
        return await self.session.get(CaseQueue, case_id) is not None
