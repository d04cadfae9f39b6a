"""The nudge worker: due rows of the `nudges` table → `step` → outbox.

Each due nudge is handled in ONE unit of work, like an incoming message: claim
the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two processes never take
the same one), run `NudgeDue` through the same `Runtime` (update key
``nudge:<id>:…`` in processed_updates: a repeat is refused), record the nudge as
sent and queue the question in the outbox; commit; then the dispatcher sends.
A process killed before the commit leaves the row pending; killed after it,
the outbox row is there and goes out after restart. Either way, asked once.

APScheduler (3.x, in memory) only wakes this worker: an interval job, and a date
job at the next known due time. Its job stores are never shared between
processes; the rows are the schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config.followup import FollowupConfig
from bot.followup.executor import BLOCKED_FLAG, FollowupRuntime, reminder
from bot.followup.schedule import Overdue, next_allowed, plan_catch_up
from bot.runtime.clock import Clock
from bot.runtime.core import Incoming, Runtime
from dialogs.followup.steps import IMPACT
from dialogs.kernel.events import NudgeDue, NudgeUnanswered
from dialogs.kernel.lifecycles import CaseStatus
from storage.db import Database, UnitOfWork
from storage.models.followup import Nudge
from storage.repos.inbox import DuplicateUpdate
from storage.repos.nudges import ACTIVE, PENDING

log = logging.getLogger(__name__)

# A nudge claimed later than this after its due time was missed (downtime), and
# is re-planned by the catch-up instead of being fired with all the others.
LATE_TOLERANCE = timedelta(minutes=5)
CATCH_UP_BATCH = 500
# Kick the dispatcher every so many queued nudges, so sending starts while the
# rest are still being prepared.
KICK_EVERY = 20


class NudgeWorker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        runtime: Runtime,
        followup: FollowupRuntime,
        on_queued: Callable[[], None] | None = None,
        tolerance: timedelta = LATE_TOLERANCE,
        pace: float = 0.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.runtime = runtime
        self.followup = followup
        self.on_queued = on_queued or (lambda: None)
        self.tolerance = tolerance
        # Seconds between two nudges handled: half the sender's interval
        # (`BotService`), so a batch is prepared just ahead of the sender
        # instead of taking the loop from it (and from incoming messages) until
        # it is all queued. 0: only a turn for the others (tests, no limit).
        self.pace = pace
        # Next free catch-up slot; per process (two processes catching up at once
        # each keep the pace, which is still far from a burst).
        self._cursor: datetime | None = None
        # Set on shutdown: finish the nudge in hand, start no other.
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True

    @property
    def config(self) -> FollowupConfig:
        return self.followup.config

    async def run_due(self) -> int:
        """Re-plan overdue rows, then handle every due row; returns how many rows
        were handled (asked, deferred, escalated, postponed or cancelled)."""
        handled = 0
        while not self.stopping:
            replanned = await self.catch_up()
            batch = 0
            while batch < CATCH_UP_BATCH and not self.stopping:
                if not await self.handle_next():
                    break
                batch += 1
                if batch == 1 or batch % KICK_EVERY == 0:
                    self.on_queued()
                # A unit on SQLite never waits (storage/sqlite_units.py): without
                # this the batch would hold the loop until it is all queued. A
                # timer, not a bare yield, so that the sender's own timers, due
                # earlier, run first and keep their pace.
                await asyncio.sleep(self.pace)
            handled += batch
            if batch:
                self.on_queued()
            if not replanned and batch < CATCH_UP_BATCH:
                return handled
        return handled

    async def catch_up(self) -> int:
        """One batch of overdue rows re-planned from the next allowed moment, one
        case at a time, at `[followup] catch_up_per_minute`."""
        now = self.clock.now()
        before = now - self.tolerance
        async with self.db.unit() as uow:
            rows = list(await uow.nudges.overdue(before, CATCH_UP_BATCH))
            if not rows:
                return 0
            seen = {r.id for r in rows}
            more = await uow.nudges.overdue_of_cases({r.case_id for r in rows}, before)
            rows.extend(r for r in more if r.id not in seen)
            start = max(now, self._cursor) if self._cursor else now
            overdue = [
                Overdue(nudge_id=r.id, case_id=r.case_id, due_at=r.due_at)
                for r in rows
                if r.due_at is not None
            ]
            plan, cursor = plan_catch_up(
                overdue,
                start,
                self.config.quiet,
                self.config.catch_up_spacing,
            )
            await uow.nudges.retime(plan, now)
        self._cursor = cursor
        log.info("caught up %d overdue nudge(s)", len(plan))
        return len(plan)

    async def handle_next(self) -> bool:
        """Claim and handle one due row; False when none is due."""
        now = self.clock.now()
        claimed: int | None = None
        try:
            async with self.db.unit() as uow:
                nudge = await uow.nudges.claim_due(now)
                if nudge is None:
                    return False
                claimed = nudge.id
                await self._handle(uow, nudge, now)
        except DuplicateUpdate:
            # Handled before under this key (cannot happen while the row's state
            # moves in the same transaction); change the key rather than loop.
            log.error("nudge %s was already handled; retrying with a new key", claimed)
            async with self.db.unit() as uow:
                if claimed is not None:
                    await uow.nudges.bump_attempts(claimed, now=now)
        return True

    async def _handle(self, uow: UnitOfWork, nudge: Nudge, now: datetime) -> None:
        case = await uow.cases.by_id(nudge.case_id)
        if case is None or case.status == CaseStatus.CLOSED:
            status = case.status if case else "gone"
            await uow.nudges.cancel_for_case(nudge.case_id, reason=status, now=now)
            return
        if case.status == CaseStatus.VERIFIED and (nudge.kind != IMPACT or nudge.state != PENDING):
            # Verified: only the impact question is still asked, and the
            # silence after a question alerts nobody.
            if nudge.state == PENDING:
                await uow.nudges.cancel(nudge.id, reason="verified", now=now)
            else:
                await uow.nudges.stop_waiting(nudge.id, now=now)
            return
        if BLOCKED_FLAG in await uow.nudges.flags_of(case.id):
            await uow.nudges.cancel_for_case(case.id, reason="blocked", now=now)
            return
        if nudge.state == PENDING:
            quiet = self.config.quiet
            if not quiet.allows(now):
                await uow.nudges.postpone(nudge.id, until=next_allowed(now, quiet), now=now)
                return
            event: NudgeDue | NudgeUnanswered = NudgeDue(
                nudge_id=nudge.id,
                case_ref=case.ref,
                kind=nudge.kind,
                deferrals=nudge.deferrals,
                reminder=await reminder(uow, case),
            )
            key = f"nudge:{nudge.id}:ask:{nudge.deferrals}:{nudge.attempts}"
        else:
            event = NudgeUnanswered(nudge_id=nudge.id, case_ref=case.ref, kind=nudge.kind)
            key = f"nudge:{nudge.id}:silence:{nudge.attempts}"
        await self.runtime.handle_in(
            uow,
            Incoming(
                transport=nudge.transport,
                address=nudge.address,
                update_key=key,
                event=event,
                sender_id=nudge.address,
                locale_hint=nudge.locale,
            ),
        )
        await uow.session.refresh(nudge)
        if nudge.state in ACTIVE and nudge.due_at is not None and nudge.due_at <= now:
            # The step decided nothing about this row: never claim it in a loop.
            log.error("nudge %s left due by its step; stopping it", nudge.id)
            await uow.nudges.cancel(nudge.id, reason="undecided", now=now)
            nudge.due_at = None

    async def next_due_at(self) -> datetime | None:
        async with self.db.unit() as uow:
            return await uow.nudges.next_due_at()


class NudgeScheduler:
    """APScheduler wakes the worker; the worker loop does the work.

    Jobs only set an event, so a slow pass never overlaps another and nothing
    about a nudge lives in APScheduler. The date job is re-armed after each pass
    for the next due row; the interval job covers rows added by other processes.
    """

    def __init__(self, worker: NudgeWorker, clock: Clock, interval: timedelta) -> None:
        self.worker = worker
        self.clock = clock
        self.interval = interval
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._wake = asyncio.Event()

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self.scheduler.add_job(
            self.kick,
            "interval",
            seconds=self.interval.total_seconds(),
            id="nudges-interval",
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.start()

    def arm(self, due: datetime | None) -> None:
        """A date job at `due` (domain time, mapped onto the wall clock, so a
        test's fake clock works too)."""
        if due is None:
            return
        delay = max(0.0, (due - self.clock.now()).total_seconds())
        self.scheduler.add_job(
            self.kick,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=delay),
            id="nudges-next",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def stop(self) -> None:
        self.worker.stop()
        self.kick()

    async def run(self) -> None:
        self.kick()
        while not self.worker.stopping:
            self._wake.clear()
            try:
                await self.worker.run_due()
                self.arm(await self.worker.next_due_at())
            except Exception:
                log.exception("nudge pass failed; next wake-up retries")
            if not self.worker.stopping:
                await self._wake.wait()

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self.scheduler.shutdown(wait=False)
