"""Interventions: the time aiguilleurs spend on cases and how it was funded.

Who may record one for a case is a question about who worked on it, asked here
from the assignments' history: an aiguilleur who accepted the case (whether it
is still open, closed, handed back or ended by the person). Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from storage.models.assignment import ACCEPTED, CLOSED, ENDED, RETURNED, Assignment
from storage.models.coordination import Intervention
from storage.session import DbSession

# Assignment states that mean "this aiguilleur took the case on".
WORKED_STATES = (ACCEPTED, CLOSED, ENDED, RETURNED)


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseTotal:
    count: int
    minutes: int


class InterventionsRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        case_id: int,
        aiguilleur_id: str,
        minutes: int,
        funding: str,
        note: str | None,
        recorded_by: str,
        now: datetime,
    ) -> Intervention:
        row = Intervention(
            case_id=case_id,
            aiguilleur_id=aiguilleur_id,
            minutes=minutes,
            funding=funding,
            note=note,
            recorded_by=recorded_by,
            at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def of_case(self, case_id: int) -> Sequence[Intervention]:
        result = await self.session.scalars(
            select(Intervention)
            .where(Intervention.case_id == case_id)
            .order_by(Intervention.at, Intervention.id)
        )
        return result.all()

    async def case_total(self, case_id: int) -> CaseTotal:
        row = (
            await self.session.execute(
                select(
                    func.count(Intervention.id), func.coalesce(func.sum(Intervention.minutes), 0)
                ).where(Intervention.case_id == case_id)
            )
        ).one()
        return CaseTotal(count=int(row[0]), minutes=int(row[1]))

    async def worked_on(self, case_id: int, aiguilleur_id: str) -> bool:
        """This aiguilleur accepted the case at some point."""
        found = await self.session.scalar(
            select(Assignment.id)
            .where(
                Assignment.case_id == case_id,
                Assignment.aiguilleur_id == aiguilleur_id,
                Assignment.state.in_(WORKED_STATES),
            )
            .limit(1)
        )
        return found is not None

    async def last_worker(self, case_id: int) -> str | None:
        """The aiguilleur who last took the case on (a coordinator records for them)."""
        return await self.session.scalar(
            select(Assignment.aiguilleur_id)
            .where(Assignment.case_id == case_id, Assignment.state.in_(WORKED_STATES))
            .order_by(Assignment.id.desc())
            .limit(1)
        )
