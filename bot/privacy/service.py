"""The person's rights at run time (RGPD): the /mesdonnees file, the /oublier
erasure, and the retention purge of closed cases.

- Export and erasure run inside the person's unit of work (bot/runtime/core.py): the
  file is an outbox row like any reply, the erasure commits with the goodbye.
- The file is JSON, capped at `EXPORT_CAP` bytes so that it fits an outbox row:
  beyond, the oldest timeline events (then the oldest cases) are left out and
  the caption says so.
- The retention purge anonymises closed cases untouched for
  `[privacy] retention_months`, then erases the people none of whose cases holds
  personal data any more and who have been silent as long, and deletes copies of
  messages sent more than `SENT_MESSAGES_KEPT` ago. APScheduler wakes it once a
  day (`RetentionJob`); `aiguillage privacy purge` runs it by hand.
- Logs say how many, never who or what.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config.privacy import PrivacyConfig
from bot.delivery import payloads
from bot.runtime.clock import Clock
from dialogs.kernel.dates import PARIS
from dialogs.kernel.render import render
from dialogs.kernel.replies import Msg, msg
from storage.db import Database, UnitOfWork

log = logging.getLogger(__name__)

EXPORT_FILENAME = "aiguillage-mes-donnees.json"
EXPORT_FORMAT = 1
# A person's answers are bounded (about 8 KB a case); timelines are what grows.
EXPORT_CAP = 256 * 1024
# Copies of sent messages are kept this long (diagnosis), then deleted.
SENT_MESSAGES_KEPT = timedelta(days=30)
# Rows handled per unit of work by the purge.
BATCH = 200
JOB_ID = "privacy-retention"


# -- /mesdonnees -------------------------------------------------------------------


async def queue_export(
    uow: UnitOfWork,
    *,
    transport: str,
    address: str,
    sender_id: str,
    person_id: int | None,
    locale: str,
    caption: Msg,
    now: datetime,
) -> None:
    data = await uow.privacy.export(
        person_id=person_id, transport=transport, address=address, external_id=sender_id
    )
    document = {"format": EXPORT_FORMAT, "generated_at": now.isoformat(), **data}
    content, shortened = fit_export(document)
    lines = (caption, msg("privacy.export.truncated")) if shortened else (caption,)
    payload = payloads.document(
        EXPORT_FILENAME, content, render(locale, lines).html, mime="application/json"
    )
    await uow.outbox.enqueue(transport=transport, address=address, payload=payload, now=now)
    log.info("personal data export queued (%d bytes)", len(content.encode("utf-8")))


def dump(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


def fit_export(document: dict[str, Any], cap: int = EXPORT_CAP) -> tuple[str, bool]:
    """The JSON text under `cap` bytes, and whether anything was left out: the
    oldest timeline events first, then the oldest cases (each found by
    bisection, a few dumps in all)."""

    def fits(candidate: dict[str, Any]) -> bool:
        return len(dump(candidate).encode("utf-8")) <= cap

    if fits(document):
        return dump(document), False
    cases = document.get("cases", [])
    ages = sorted(
        (str(event.get("at") or ""), c, e)
        for c, case in enumerate(cases)
        for e, event in enumerate(case.get("events", []))
    )

    def without_events(count: int) -> dict[str, Any]:
        dropped = {(c, e) for _, c, e in ages[:count]}
        kept = [
            {**case, "events": [ev for e, ev in enumerate(case["events"]) if (c, e) not in dropped]}
            for c, case in enumerate(cases)
        ]
        return {**document, "cases": kept, "truncated": {"events_omitted": count}}

    events = smallest(len(ages), lambda k: fits(without_events(k)))
    if events is not None:
        return dump(without_events(events)), True
    bare = without_events(len(ages))

    def without_cases(count: int) -> dict[str, Any]:
        omitted = {"events_omitted": len(ages), "cases_omitted": count}
        return {**bare, "cases": bare["cases"][count:], "truncated": omitted}

    oldest = smallest(len(cases), lambda k: fits(without_cases(k)))
    return dump(without_cases(len(cases) if oldest is None else oldest)), True


def smallest(upper: int, good: Callable[[int], bool]) -> int | None:
    """The smallest k in 1..upper with good(k) (good is monotonic), or None."""
    if upper < 1 or not good(upper):
        return None
    low, high = 1, upper
    while low < high:
        middle = (low + high) // 2
        if good(middle):
            high = middle
        else:
            low = middle + 1
    return low


# -- /oublier ------------------------------------------------------------------------


async def erase_on_request(
    uow: UnitOfWork,
    *,
    transport: str,
    address: str,
    sender_id: str,
    person_id: int | None,
    now: datetime,
) -> None:
    cases = await uow.privacy.erase_person(
        person_id=person_id,
        transport=transport,
        external_id=sender_id,
        chats={(transport, address)},
        by="person",
        now=now,
    )
    log.info("personal data erased on request (%d case(s) anonymised)", cases)


# -- retention -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PurgeReport:
    # None: retention is off ([privacy] retention_months = 0).
    cutoff: datetime | None
    cases: tuple[str, ...] = ()
    people: int = 0
    conversations: int = 0
    messages: int = 0
    dry_run: bool = False


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the 31st becomes
    the month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def purge(
    db: Database, now: datetime, retention_months: int, dry_run: bool = False
) -> PurgeReport:
    sent_before = now - SENT_MESSAGES_KEPT
    if dry_run:
        report = await count_purge(db, now, retention_months)
    else:
        cutoff = months_before(now, retention_months) if retention_months else None
        refs: list[str] = []
        people = chats = 0
        if cutoff is not None:
            refs = await _in_batches(db, lambda uow: _anonymise_cases(uow, cutoff, now))
            people = len(await _in_batches(db, lambda uow: _erase_people(uow, cutoff, now)))
            chats = len(await _in_batches(db, lambda uow: _delete_chats(uow, cutoff)))
        async with db.unit() as uow:
            messages = await uow.outbox.purge_sent_before(sent_before)
        report = PurgeReport(
            cutoff=cutoff, cases=tuple(refs), people=people, conversations=chats, messages=messages
        )
    log.info(
        "retention purge%s: %d case(s) anonymised, %d person(s) and %d conversation(s) "
        "erased, %d sent message(s) deleted",
        " (dry run)" if dry_run else "",
        len(report.cases),
        report.people,
        report.conversations,
        report.messages,
    )
    return report


async def count_purge(db: Database, now: datetime, retention_months: int) -> PurgeReport:
    """What `purge` would do, changing nothing."""
    cutoff = months_before(now, retention_months) if retention_months else None
    async with db.unit() as uow:
        messages = await uow.privacy.sent_before(now - SENT_MESSAGES_KEPT)
        if cutoff is None:
            return PurgeReport(cutoff=None, messages=messages, dry_run=True)
        cases = await uow.privacy.expired_cases(cutoff, limit=None)
        ids = [c.id for c in cases]
        people = await uow.privacy.forgettable_people(cutoff, assume_erased=ids, limit=None)
        chats = await uow.privacy.stale_anonymous_chats(cutoff, limit=None)
        return PurgeReport(
            cutoff=cutoff,
            cases=tuple(c.ref for c in cases),
            people=len(people),
            conversations=len(chats),
            messages=messages,
            dry_run=True,
        )


async def _in_batches(db: Database, one: Callable[[UnitOfWork], Any]) -> list[Any]:
    """Repeat a batch (one unit of work each) until it comes back short."""
    done: list[Any] = []
    while True:
        async with db.unit() as uow:
            batch = await one(uow)
        done.extend(batch)
        if len(batch) < BATCH:
            return done


async def _anonymise_cases(uow: UnitOfWork, cutoff: datetime, now: datetime) -> list[str]:
    cases = await uow.privacy.expired_cases(cutoff, limit=BATCH)
    for case in cases:
        await uow.privacy.erase_case(case, by="retention", now=now, settle=False)
    return [c.ref for c in cases]


async def _erase_people(uow: UnitOfWork, cutoff: datetime, now: datetime) -> list[int]:
    people = await uow.privacy.forgettable_people(cutoff, limit=BATCH)
    for person in people:
        await uow.privacy.erase_person(
            person_id=person.id,
            transport=person.transport,
            external_id=person.external_id,
            chats=(),
            by="retention",
            now=now,
        )
    return [p.id for p in people]


async def _delete_chats(uow: UnitOfWork, cutoff: datetime) -> list[int]:
    ids = await uow.privacy.stale_anonymous_chats(cutoff, limit=BATCH)
    await uow.privacy.delete_conversations(ids)
    return ids


class RetentionJob:
    """Runs `purge` once at start, then every night at 04:30 (Paris).

    Like the nudge scheduler, APScheduler only wakes the loop: the purge itself
    never runs inside APScheduler, so a stop waits for the batch in hand. The
    purge reads the injected clock: tests move it and `kick`.
    """

    def __init__(self, db: Database, clock: Clock, config: PrivacyConfig) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.passes = 0
        self.last: PurgeReport | None = None
        self.stopping = False
        self._wake = asyncio.Event()

    def kick(self) -> None:
        self._wake.set()

    def start(self, scheduler: AsyncIOScheduler) -> None:
        scheduler.add_job(
            self.kick,
            CronTrigger(hour=4, minute=30, timezone=PARIS),
            id=JOB_ID,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )

    async def run_once(self) -> PurgeReport:
        self.last = await purge(self.db, self.clock.now(), self.config.retention_months)
        self.passes += 1
        return self.last

    async def run(self) -> None:
        self.kick()
        while not self.stopping:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("retention purge failed; the next wake-up retries")
            if not self.stopping:
                await self._wake.wait()

    def stop(self) -> None:
        self.stopping = True
        self.kick()


__all__ = [
    "EXPORT_FILENAME",
    "PurgeReport",
    "RetentionJob",
    "erase_on_request",
    "fit_export",
    "months_before",
    "purge",
    "queue_export",
]
