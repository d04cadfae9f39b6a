"""``stats``: the figures of the moment, as chat lines (sans-I/O).

Open cases are every status but ``clos``; "active" aiguilleurs follow the
report's definition (dialogs/reports/report.py) over the last 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.kernel.lifecycles import CaseStatus
from dialogs.kernel.options import CASE_STATUSES
from dialogs.kernel.replies import Msg, msg
from dialogs.reports.render import scope_line

ACTIVE_DAYS = 30
CLOSED = CaseStatus.CLOSED


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    regions: tuple[str, ...] | None
    # Open cases (every status but clos), by status.
    open_by_status: tuple[tuple[str, int], ...]
    queue: int
    queue_oldest_days: int | None
    available: int
    active: int
    nudges_due_week: int
    nudges_escalated: int

    @property
    def open_total(self) -> int:
        return sum(count for _, count in self.open_by_status)


def stats_lines(stats: Stats) -> tuple[Msg, ...]:
    order = {status: index for index, status in enumerate(CASE_STATUSES)}
    by_status = sorted(stats.open_by_status, key=lambda item: order.get(item[0], 99))
    items = tuple(
        msg("report.item", label=msg(f"report.status.{status}"), count=count)
        for status, count in by_status
        if count
    )
    queue = (
        msg("stats.waiting", count=stats.queue, days=stats.queue_oldest_days or 0)
        if stats.queue
        else msg("stats.queue.empty")
    )
    return (
        msg("stats.title"),
        *scope_line(stats.regions),
        msg("stats.open", count=stats.open_total, items=items or msg("report.none")),
        queue,
        msg("stats.people", available=stats.available, active=stats.active, days=ACTIVE_DAYS),
        msg("stats.nudges", due=stats.nudges_due_week, escalated=stats.nudges_escalated),
    )
