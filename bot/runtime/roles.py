"""The bot's roles (bot/runtime/leadership.py): what one process runs for all.

- ``telegram-poll``: `getUpdates` (polling mode only; in webhook mode every
  process serves Telegram's calls). Two pollers of one token take updates from
  each other.
- ``matrix-sync``: the Matrix sync loop and the deadline ticks. One device has
  one syncer: to-device messages (room keys) go to whoever syncs.
- ``scheduler``: the APScheduler wake-ups and the loops they wake — the nudge
  worker, the retention purge, the weekly digest.

The nudge *worker* runs with the scheduler, in its holder only. Its claims
(``FOR UPDATE SKIP LOCKED``) would let it run everywhere, but its catch-up after
downtime re-plans overdue rows at `[followup] catch_up_per_minute` from a
cursor kept in memory: two planners would each keep the pace and together
double it. And one process prepares nudges far faster than Telegram takes
them. A takeover in the middle of a pass is safe: a row claimed by the process
that lost the role is released with its transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.followup.nudges import NudgeScheduler
from bot.privacy.service import RetentionJob
from bot.reports.digest import WeeklyDigest
from bot.runtime.leadership import MATRIX_SYNC, SCHEDULER, TELEGRAM_POLL, Role, start_tasks
from bot.transports.matrix.service import MatrixService
from bot.transports.telegram.transport import TelegramTransport

# Seconds a lost scheduler's pass in hand may take to finish its unit of work
# (a nudge, a purge batch): cancelled inside a transaction, its connection would
# be closed in the background.
SCHEDULER_GRACE = 2.0


def telegram_role(transport: TelegramTransport, held: Callable[[], bool]) -> Role:
    """`held`: asked before each `getUpdates`; a holder whose lock is in doubt
    does not call it."""

    async def start() -> list[asyncio.Task[None]]:
        return start_tasks((TELEGRAM_POLL, lambda: transport.poll(held)))

    return Role(TELEGRAM_POLL, start)


def matrix_role(matrix: MatrixService) -> Role:
    async def start() -> list[asyncio.Task[None]]:
        try:
            await matrix.take_over()
        except Exception as exc:
            # The sync loop retries, with its back-off, and /healthz says so.
            matrix.sync_failure = type(exc).__name__
        return start_tasks(("matrix-sync", matrix.run_sync), ("matrix-ticks", matrix.run_ticks))

    return Role(MATRIX_SYNC, start)


def scheduler_role(nudges: NudgeScheduler, retention: RetentionJob, digest: WeeklyDigest) -> Role:
    async def start() -> list[asyncio.Task[None]]:
        nudges.worker.stopping = retention.stopping = digest.stopping = False
        nudges.scheduler.resume()
        return start_tasks(
            ("nudges", nudges.run), ("privacy", retention.run), ("digest", digest.run)
        )

    def stop() -> None:
        if nudges.scheduler.running:
            nudges.scheduler.pause()
        nudges.stop()
        retention.stop()
        digest.stop()

    return Role(SCHEDULER, start, stop, grace=SCHEDULER_GRACE)
