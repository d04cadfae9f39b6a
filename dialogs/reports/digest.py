"""The coordinators' weekly digest (sans-I/O): which week a moment belongs to,
when its digest is due, and what it says.

A week is an ISO week in Europe/Paris; its key (``2026-W10``) marks it sent
(bot/reports/digest.py). "Stuck" cases: a nudge still unanswered after its escalation
(nobody answers), every aiguilleur offered the case declined or let the offer
expire and it waits in the queue, or it waits in the queue for more than
`queue_days` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dialogs.kernel.dates import PARIS
from dialogs.kernel.replies import Msg, msg
from dialogs.reports.render import day

MAX_REFS = 15


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    """When the digest goes out: a weekday (Monday 0) and a local time."""

    weekday: int = 0
    at: time = time(9, 0)


def week_key(moment: datetime) -> str:
    year, week, _ = moment.astimezone(PARIS).isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(moment: datetime) -> date:
    local = moment.astimezone(PARIS).date()
    return local - timedelta(days=local.weekday())


def slot_of_week(moment: datetime, slot: Slot) -> datetime:
    """The digest's moment in the week of `moment` (UTC)."""
    when = monday_of(moment) + timedelta(days=slot.weekday)
    return datetime.combine(when, slot.at, tzinfo=PARIS).astimezone(UTC)


def is_due(moment: datetime, slot: Slot) -> bool:
    """The week's slot has come (a bot down at that moment sends it when back)."""
    return moment >= slot_of_week(moment, slot)


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    since: date
    until: date
    new_cases: tuple[str, ...] = ()
    no_answer: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()
    queued: tuple[str, ...] = ()
    queue_days: int = 7
    escalated: tuple[str, ...] = ()

    @property
    def calm(self) -> bool:
        return not (self.no_answer or self.declined or self.queued or self.escalated)


def refs(values: tuple[str, ...]) -> Msg | tuple[str, ...]:
    if len(values) <= MAX_REFS:
        return values
    return msg("digest.more", refs=values[:MAX_REFS], count=len(values) - MAX_REFS)


def digest_lines(digest: Digest) -> tuple[Msg, ...]:
    lines = [msg("digest.title", start=day(digest.since), end=day(digest.until))]
    if digest.new_cases:
        count = len(digest.new_cases)
        lines.append(msg("digest.new", count=count, refs=refs(digest.new_cases)))
    else:
        lines.append(msg("digest.new.none"))
    if digest.no_answer:
        lines.append(msg("digest.no_answer", refs=refs(digest.no_answer)))
    if digest.declined:
        lines.append(msg("digest.declined", refs=refs(digest.declined)))
    if digest.queued:
        lines.append(msg("digest.queued", days=digest.queue_days, refs=refs(digest.queued)))
    if digest.escalated:
        count = len(digest.escalated)
        lines.append(msg("digest.escalated", count=count, refs=refs(digest.escalated)))
    if digest.calm:
        lines.append(msg("digest.calm"))
    return tuple(lines)
