"""When a nudge may go out: durations, quiet hours and catch-up, as pure functions.

Rules:
- Times are aware datetimes; quiet hours are read in the policy's time zone
  (Europe/Paris by default), so a change to or from summer time moves nothing:
  "not before 09:00" stays 09:00 on the wall clock.
- A quiet window may wrap midnight (20:00 → 09:00) or not (12:00 → 14:00); a quiet
  day is quiet all day long.
- After downtime, overdue nudges are not fired at once: each case keeps one nudge
  at a time, and cases are spread at a steady pace from the next allowed moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialogs.kernel.dates import PARIS

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|j|w|sem)\s*$", re.IGNORECASE)
_UNITS = {
    "s": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "j": 86400,
    "w": 7 * 86400,
    "sem": 7 * 86400,
}
# Monday is 0, like datetime.weekday(); French and English names are accepted.
WEEKDAYS = {
    "lundi": 0,
    "mardi": 1,
    "mercredi": 2,
    "jeudi": 3,
    "vendredi": 4,
    "samedi": 5,
    "dimanche": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"2h"``, ``"3d"`` (or ``"3j"``), ``"1w"``; ValueError otherwise."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(text)
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2).lower()])


def parse_clock(text: str) -> time:
    """``"20:00"`` → 20:00; ValueError otherwise."""
    found = re.fullmatch(r"\s*(\d{1,2})[:h](\d{2})\s*", text)
    if found is None:
        raise ValueError(text)
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(text)
    return time(hour, minute)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quiet:
    """When people are left alone. ``start == end`` means no quiet hours."""

    start: time = time(20, 0)
    end: time = time(9, 0)
    days: frozenset[int] = frozenset({6})
    zone: ZoneInfo = PARIS

    def in_window(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() not in self.days and not self.in_window(local.time())


def next_allowed(moment: datetime, quiet: Quiet) -> datetime:
    """`moment` itself when allowed, else the first allowed moment after it (UTC)."""
    if quiet.allows(moment):
        return moment
    if len(quiet.days) >= 7:
        raise ValueError("every day is quiet")
    if quiet.start == quiet.end:
        openings = [time(0, 0)]
    elif quiet.start > quiet.end:
        openings = [quiet.end]  # 20:00 → 09:00: a day opens at 09:00
    else:
        openings = [time(0, 0), quiet.end]  # 12:00 → 14:00: at midnight and at 14:00
    day = moment.astimezone(quiet.zone).date()
    # A week and a day always reach a day that is not quiet.
    for offset in range(9):
        for opening in openings:
            candidate = _local(day + timedelta(days=offset), opening, quiet.zone)
            if candidate > moment and quiet.allows(candidate):
                return candidate.astimezone(UTC)
    raise AssertionError("no allowed moment within nine days")


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The wall-clock moment `at` on `day`. On the spring-forward night a missing
    time (02:30) is read with the winter offset, i.e. the first moment after the
    gap, which is what "not before" means."""
    return datetime.combine(day, at, tzinfo=zone)


@dataclass(frozen=True, slots=True, kw_only=True)
class Overdue:
    nudge_id: int
    case_id: int
    due_at: datetime


def plan_catch_up(
    overdue: Iterable[Overdue],
    start: datetime,
    quiet: Quiet,
    spacing: timedelta,
) -> tuple[list[tuple[int, datetime]], datetime]:
    """New due times for overdue nudges, and where the next free slot is.

    Cases are served in order of their earliest overdue nudge, one slot each, every
    `spacing`, at allowed moments only. A case's later overdue nudges keep their
    distance to its first one, so a person never gets two questions at once.
    """
    by_case: dict[int, list[Overdue]] = {}
    for row in sorted(overdue, key=lambda r: (r.due_at, r.nudge_id)):
        by_case.setdefault(row.case_id, []).append(row)
    plan: list[tuple[int, datetime]] = []
    cursor = next_allowed(start, quiet)
    for rows in by_case.values():
        first = rows[0]
        slot = cursor
        shift = slot - first.due_at
        plan.append((first.nudge_id, slot))
        plan.extend((row.nudge_id, next_allowed(row.due_at + shift, quiet)) for row in rows[1:])
        cursor = next_allowed(cursor + spacing, quiet)
    return plan, cursor


def shift_after(
    due_times: Sequence[tuple[int, datetime]], shift: timedelta, quiet: Quiet
) -> list[tuple[int, datetime]]:
    """Move nudges by `shift` (a snooze moves the rest of the follow-up with it)."""
    return [(nudge_id, next_allowed(due + shift, quiet)) for nudge_id, due in due_times]
