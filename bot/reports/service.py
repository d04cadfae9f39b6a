"""Building a report, `stats` figures and the weekly digest from the database:
the one place that decides the default period and the roadmap's start, shared
by the chat commands (bot/coordination/handlers/reports.py), the command line and the
digest (bot/reports/digest.py).

Default period: from `[report] start` (else the day of the first request) to
today, Europe/Paris.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.config.reports import ReportConfig
from dialogs.reports.digest import Digest
from dialogs.reports.report import Period, Report, Roadmap, build_report, local_day, local_midnight
from dialogs.reports.stats import ACTIVE_DAYS, Stats
from storage.db import UnitOfWork

WEEK = timedelta(days=7)


class EmptyPeriod(ValueError):
    """The period would start after it ends (a start date in the future)."""

    def __init__(self, start: date, end: date) -> None:
        super().__init__(f"{start} > {end}")
        self.start = start
        self.end = end


async def roadmap_start(uow: UnitOfWork, config: ReportConfig, today: date) -> date:
    if config.start is not None:
        return config.start
    first = await uow.reports.first_case_at()
    return local_day(first) if first is not None else today


async def period_of(
    uow: UnitOfWork,
    config: ReportConfig,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
) -> Period:
    today = local_day(now)
    end = end or today
    start = start or min(await roadmap_start(uow, config, today), end)
    if start > end:
        raise EmptyPeriod(start, end)
    return Period(start=start, end=end)


async def load_report(
    uow: UnitOfWork,
    config: ReportConfig,
    period: Period,
    now: datetime,
    regions: frozenset[str] | None = None,
) -> Report:
    begun = await roadmap_start(uow, config, local_day(now))
    rows = await uow.reports.rows(
        period.start_at, period.end_at, since=local_midnight(begun), regions=regions
    )
    roadmap = Roadmap(
        start=begun, milestones=config.milestones, active_aiguilleurs=config.active_aiguilleurs
    )
    return build_report(rows, period, roadmap, regions)


async def load_stats(
    uow: UnitOfWork, now: datetime, regions: frozenset[str] | None = None
) -> Stats:
    count, oldest = await uow.reports.queue(regions)
    due, escalated = await uow.reports.nudges(now, WEEK, regions)
    active = await uow.reports.active_aiguilleurs(now - timedelta(days=ACTIVE_DAYS), now, regions)
    return Stats(
        regions=tuple(sorted(regions)) if regions is not None else None,
        open_by_status=tuple(await uow.reports.open_by_status(regions)),
        queue=count,
        queue_oldest_days=(now - oldest).days if oldest is not None else None,
        available=await uow.reports.available_aiguilleurs(regions),
        active=len(active),
        nudges_due_week=due,
        nudges_escalated=escalated,
    )


async def load_digest(uow: UnitOfWork, now: datetime, queue_days: int) -> Digest:
    """The week before `now`: new cases and escalations of the last seven days,
    and what is stuck at this moment."""
    since = now - WEEK
    return Digest(
        since=local_day(since),
        until=local_day(now),
        new_cases=tuple(await uow.reports.refs_created(since, now)),
        no_answer=tuple(await uow.reports.refs_unanswered()),
        declined=tuple(await uow.reports.refs_declined_by_all()),
        queued=tuple(await uow.reports.refs_queued_before(now - timedelta(days=queue_days))),
        queue_days=queue_days,
        escalated=tuple(await uow.reports.refs_escalated(since, now)),
    )
