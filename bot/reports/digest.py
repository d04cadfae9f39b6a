"""The coordinators' weekly digest: new requests, stuck ones, escalated nudges
(dialogs/reports/digest.py says what and when), queued in the outbox for the
configured coordinators on Telegram and the coordinators' Matrix room — the
same recipients as the follow-up's alerts.

Exactly once a week: sending inserts the week's key (``2026-W10``, transport
"digest") into `processed_updates` in the same unit of work as the messages,
so a second pass, another process or a restart later that week finds the key
and sends nothing. The row is dated at the end of its week (not when sent), so
a purge of old update ids cannot drop it while it still matters.

APScheduler only wakes the loop (a cron trigger at `[report] digest`, Paris
time); the loop also runs once at start, which sends a digest missed while the
bot was down (not on a first install: the first digest waits for its slot).
The decision reads the injected clock: tests move it and call `run_once`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config.followup import CoordinatorsConfig
from bot.config.reports import ReportConfig
from bot.followup.executor import FollowupRuntime
from bot.reports.service import load_digest
from bot.runtime.clock import Clock
from dialogs.kernel.dates import PARIS
from dialogs.reports.digest import digest_lines, is_due, slot_of_week, week_key
from storage.db import Database
from storage.repos.inbox import DuplicateUpdate

log = logging.getLogger(__name__)

JOB_ID = "weekly-digest"
TRANSPORT = "digest"
CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WeeklyDigest:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: ReportConfig,
        coordinators: CoordinatorsConfig,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        # The follow-up runtime knows the coordinators' addresses and how to alert them.
        self.alerts = FollowupRuntime(coordinators=coordinators)
        self.on_queued = on_queued or (lambda: None)
        self.sent: list[str] = []  # week keys this process sent (for tests and logs)
        self.stopping = False
        self._wake = asyncio.Event()

    def kick(self) -> None:
        self._wake.set()

    def trigger(self) -> CronTrigger | None:
        slot = self.config.digest
        if slot is None:
            return None
        return CronTrigger(
            day_of_week=CRON_DAYS[slot.weekday],
            hour=slot.at.hour,
            minute=slot.at.minute,
            timezone=PARIS,
        )

    def start(self, scheduler: AsyncIOScheduler) -> None:
        trigger = self.trigger()
        if trigger is None:
            return
        scheduler.add_job(
            self.kick,
            trigger,
            id=JOB_ID,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )

    async def run_once(self, catch_up: bool = False) -> str | None:
        """Send this week's digest if its time has come and nobody sent it yet;
        the week's key when this call sent it. `catch_up` (the pass at start)
        sends a missed digest only if one was ever sent: a bot installed on a
        Thursday waits for its first slot instead of greeting everyone at once."""
        slot = self.config.digest
        now = self.clock.now()
        if slot is None or not is_due(now, slot):
            return None
        targets = self.alerts.coordinator_targets()
        if not targets:
            return None  # nobody to tell: [coordinators] is empty
        if catch_up:
            async with self.db.unit() as uow:
                if not await uow.inbox.has_any(TRANSPORT):
                    return None
        key = week_key(now)
        # Kept until the week is over (see the module's docstring).
        keep_until = slot_of_week(now, slot) + timedelta(days=8)
        try:
            async with self.db.unit() as uow:
                await uow.inbox.claim(TRANSPORT, key, keep_until)
                digest = await load_digest(uow, now, self.config.queue_days)
                await self.alerts.alert(uow, targets, digest_lines(digest), now)
        except DuplicateUpdate:
            return None
        self.sent.append(key)
        log.info("weekly digest %s queued for %d recipient(s)", key, len(targets))
        self.on_queued()
        return key

    async def run(self) -> None:
        self.kick()
        catch_up = True
        while not self.stopping:
            self._wake.clear()
            try:
                await self.run_once(catch_up=catch_up)
                catch_up = False
            except Exception:
                log.exception("weekly digest failed; the next wake-up retries")
            if not self.stopping:
                await self._wake.wait()

    def stop(self) -> None:
        self.stopping = True
        self.kick()


def next_run(trigger: CronTrigger, after: datetime) -> datetime | None:
    """When APScheduler would wake the digest next (for tests and docs)."""
    return trigger.get_next_fire_time(None, after)
