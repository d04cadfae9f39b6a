"""Read-only queries of the report, `stats` and the weekly digest: plain rows
(dialogs/reports/report.py) loaded with one query per table — never one per case.

`regions`: a scoped coordinator's régions (None: every région); a case outside
them, or without a région, is left out, and so are its interventions,
assignments and impact answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVarTuple

from sqlalchemy import Select, func, select

from dialogs.kernel.lifecycles import SETTLED_STATUSES, CaseStatus
from dialogs.reports.report import (
    FIRST_CONTACT_KINDS,
    HELD_STATES,
    IMPACT_KIND,
    VERIFIED_KIND,
    AssignmentRow,
    CaseRow,
    ImpactRow,
    InterventionRow,
    ResourceRow,
    Rows,
)
from storage.models.assignment import DECLINED, EXPIRED, Assignment, CaseQueue
from storage.models.catalog import Aiguilleur, Resource
from storage.models.coordination import Intervention
from storage.models.core import Case, CaseEvent
from storage.models.followup import Nudge
from storage.session import DbSession

CLOSED = CaseStatus.CLOSED
STOPPED = tuple(SETTLED_STATUSES)


_Columns = TypeVarTuple("_Columns")


def _scoped(query: Select[*_Columns], regions: Iterable[str] | None) -> Select[*_Columns]:
    return query if regions is None else query.where(Case.region.in_(tuple(regions)))


class ReportsRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    # -- the report ----------------------------------------------------------------

    async def first_case_at(self, regions: Iterable[str] | None = None) -> datetime | None:
        return await self.session.scalar(_scoped(select(func.min(Case.created_at)), regions))

    async def rows(
        self,
        start: datetime,
        end: datetime,
        *,
        since: datetime,
        regions: Iterable[str] | None = None,
    ) -> Rows:
        """Rows for the period [start, end); interventions from `since` (the
        roadmap's start, for milestones) when it is earlier."""
        scope = tuple(regions) if regions is not None else None
        period_cases = _scoped(
            select(Case.id).where(Case.created_at >= start, Case.created_at < end), scope
        )
        cases = (
            await self.session.execute(
                _scoped(
                    select(
                        Case.id, Case.ref, Case.created_at, Case.themes, Case.region, Case.status
                    ).where(Case.created_at >= start, Case.created_at < end),
                    scope,
                ).order_by(Case.created_at, Case.id)
            )
        ).all()
        # First contact and verification of those cases: one aggregate over the timeline.
        firsts: dict[tuple[int, str], datetime] = {}
        for case_id, kind, at in await self.session.execute(
            select(CaseEvent.case_id, CaseEvent.kind, func.min(CaseEvent.at))
            .where(
                CaseEvent.case_id.in_(period_cases.scalar_subquery()),
                CaseEvent.kind.in_((*FIRST_CONTACT_KINDS, VERIFIED_KIND)),
            )
            .group_by(CaseEvent.case_id, CaseEvent.kind)
        ):
            key = (case_id, "verified" if kind == VERIFIED_KIND else "contact")
            firsts[key] = min(at, firsts.get(key, at))
        impacts = await self.session.execute(
            _scoped(
                select(CaseEvent.case_id, CaseEvent.at, CaseEvent.data)
                .join(Case, Case.id == CaseEvent.case_id)
                .where(CaseEvent.kind == IMPACT_KIND, CaseEvent.at >= start, CaseEvent.at < end),
                scope,
            ).order_by(CaseEvent.at, CaseEvent.id)
        )
        interventions = await self.session.execute(
            _scoped(
                select(
                    Intervention.case_id,
                    Intervention.aiguilleur_id,
                    Intervention.minutes,
                    Intervention.funding,
                    Intervention.at,
                )
                .join(Case, Case.id == Intervention.case_id)
                .where(Intervention.at >= min(start, since), Intervention.at < end),
                scope,
            ).order_by(Intervention.at, Intervention.id)
        )
        assignments = await self.session.execute(
            _scoped(
                select(
                    Assignment.case_id,
                    Assignment.aiguilleur_id,
                    Assignment.state,
                    Assignment.offered_at,
                    Assignment.decided_at,
                )
                .join(Case, Case.id == Assignment.case_id)
                .where(Assignment.state.in_(HELD_STATES), Assignment.offered_at < end),
                scope,
            )
        )
        names = await self.session.execute(select(Aiguilleur.id, Aiguilleur.name))
        resources = await self.session.execute(
            select(Resource.id, Resource.name, Resource.libre, Resource.replaces)
        )
        return Rows(
            cases=tuple(
                CaseRow(
                    id=row.id,
                    ref=row.ref,
                    created_at=row.created_at,
                    themes=tuple(row.themes or ()),
                    region=row.region,
                    status=row.status,
                    first_contact_at=firsts.get((row.id, "contact")),
                    verified_at=firsts.get((row.id, "verified")),
                )
                for row in cases
            ),
            # Both queries select exactly the fields of their row, by name.
            interventions=tuple(InterventionRow(**r._asdict()) for r in interventions),
            assignments=tuple(AssignmentRow(**r._asdict()) for r in assignments),
            impacts=tuple(
                ImpactRow(
                    case_id=r.case_id,
                    at=r.at,
                    field=str((r.data or {}).get("field", "")),
                    data=dict(r.data or {}),
                )
                for r in impacts
            ),
            aiguilleurs={r.id: r.name for r in names},
            resources=tuple(
                ResourceRow(
                    id=r.id, name=r.name, libre=bool(r.libre), replaces=tuple(r.replaces or ())
                )
                for r in resources
            ),
        )

    # -- stats ----------------------------------------------------------------------------

    async def open_by_status(self, regions: Iterable[str] | None = None) -> list[tuple[str, int]]:
        result = await self.session.execute(
            _scoped(
                select(Case.status, func.count(Case.id)).where(Case.status != CLOSED), regions
            ).group_by(Case.status)
        )
        return [(status, int(count)) for status, count in result.all()]

    async def queue(self, regions: Iterable[str] | None = None) -> tuple[int, datetime | None]:
        """How many cases wait for an aiguilleur, and since when the oldest."""
        count, oldest = (
            await self.session.execute(
                _scoped(
                    select(func.count(CaseQueue.case_id), func.min(CaseQueue.queued_at)).join(
                        Case, Case.id == CaseQueue.case_id
                    ),
                    regions,
                )
            )
        ).one()
        return int(count or 0), oldest

    async def available_aiguilleurs(self, regions: Iterable[str] | None = None) -> int:
        """Active, available people of the catalog (of these régions, or working
        everywhere, for a scoped coordinator)."""
        rows = await self.session.execute(
            select(Aiguilleur.regions).where(
                Aiguilleur.active.is_(True), Aiguilleur.available.is_(True)
            )
        )
        scope = set(regions) if regions is not None else None
        return sum(1 for (own,) in rows.all() if scope is None or not own or scope & set(own))

    async def active_aiguilleurs(
        self, start: datetime, end: datetime, regions: Iterable[str] | None = None
    ) -> set[str]:
        """Report's definition: an intervention in [start, end), or a case held then."""
        worked = await self.session.scalars(
            _scoped(
                select(Intervention.aiguilleur_id)
                .join(Case, Case.id == Intervention.case_id)
                .where(Intervention.at >= start, Intervention.at < end),
                regions,
            ).distinct()
        )
        held = await self.session.execute(
            _scoped(
                select(Assignment.aiguilleur_id, Assignment.state, Assignment.decided_at)
                .join(Case, Case.id == Assignment.case_id)
                .where(Assignment.state.in_(HELD_STATES), Assignment.offered_at < end),
                regions,
            )
        )
        active = set(worked.all())
        for slug, state, decided_at in held.all():
            if state == "accepted" or decided_at is None or decided_at >= start:
                active.add(slug)
        return active

    async def nudges(
        self, now: datetime, within: timedelta, regions: Iterable[str] | None = None
    ) -> tuple[int, int]:
        """(pending nudges due before now + within, nudges escalated and still unanswered)."""
        due = await self.session.scalar(
            _scoped(
                select(func.count(Nudge.id))
                .join(Case, Case.id == Nudge.case_id)
                .where(Nudge.state == "pending", Nudge.due_at < now + within),
                regions,
            )
        )
        escalated = await self.session.scalar(
            _scoped(
                select(func.count(Nudge.id))
                .join(Case, Case.id == Nudge.case_id)
                .where(Nudge.state == "escalated"),
                regions,
            )
        )
        return int(due or 0), int(escalated or 0)

    # -- the weekly digest ----------------------------------------------------------------

    async def refs_created(self, start: datetime, end: datetime) -> list[str]:
        result = await self.session.scalars(
            select(Case.ref)
            .where(Case.created_at >= start, Case.created_at < end)
            .order_by(Case.created_at, Case.id)
        )
        return list(result.all())

    async def refs_unanswered(self) -> list[str]:
        """Open cases with a nudge escalated for silence and still unanswered."""
        result = await self.session.scalars(
            select(Case.ref)
            .join(Nudge, Nudge.case_id == Case.id)
            .where(Nudge.state == "escalated", Case.status.not_in(STOPPED))
            .group_by(Case.ref, Case.number)
            .order_by(Case.number)
        )
        return list(result.all())

    async def refs_declined_by_all(self) -> list[str]:
        """Cases back in the queue after every aiguilleur asked declined or let
        the offer expire."""
        result = await self.session.scalars(
            select(Case.ref)
            .join(CaseQueue, CaseQueue.case_id == Case.id)
            .join(Assignment, Assignment.case_id == Case.id)
            .where(Assignment.state.in_((DECLINED, EXPIRED)))
            .group_by(Case.ref, Case.number)
            .order_by(Case.number)
        )
        return list(result.all())

    async def refs_queued_before(self, moment: datetime) -> list[str]:
        result = await self.session.scalars(
            select(Case.ref)
            .join(CaseQueue, CaseQueue.case_id == Case.id)
            .where(CaseQueue.queued_at < moment)
            .order_by(CaseQueue.queued_at, Case.id)
        )
        return list(result.all())

    async def refs_escalated(self, start: datetime, end: datetime) -> list[str]:
        result = await self.session.scalars(
            select(Case.ref)
            .join(Nudge, Nudge.case_id == Case.id)
            .where(Nudge.escalated_at >= start, Nudge.escalated_at < end)
            .group_by(Case.ref, Case.number)
            .order_by(Case.number)
        )
        return list(result.all())
