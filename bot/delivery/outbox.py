"""Delivery of the outbox: pending rows are sent in order per chat, each result
recorded in a short transaction before the chat's next row (results that come
at once share one, bot/delivery/marks.py). Nothing here holds a transaction open
across a network call.

Chats are served concurrently (a network round trip per send would otherwise
cap throughput far below Telegram's 30/s), each chat's rows strictly in order,
and every send waits for its slot from the `Pacer` (bot/delivery/pacing.py). A 429 pauses
the transport for `retry_after`; a permanent "forbidden" stops that chat's rows
and calls `on_failed` once (the follow-up flags the case, see bot/followup/nudges.py).

One dispatcher runs per process; Telegram allows one consumer per token, so
one process sends for it. A row whose send was interrupted by a crash is sent
again after restart (Telegram offers no idempotency key).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.delivery.marks import SentMarks
from bot.delivery.pacing import Pacer
from bot.runtime.clock import Clock
from storage.db import Database, UnitOfWork
from storage.errors import is_unavailable
from storage.models.core import OutboxMessage
from storage.repos.outbox import backoff

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sent:
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class RetryAfter:
    # None: the sender knows no delay; the row backs off by its attempts.
    seconds: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    """Permanent: retrying would fail the same way (blocked bot, bad request)."""

    reason: str


SendResult = Sent | RetryAfter | Failed


class Sender(Protocol):
    async def send(self, address: str, payload: dict[str, Any]) -> SendResult: ...


# Called once per chat and pass after a permanent failure (e.g. the person
# blocked the bot), with (transport, address, reason, payloads of the rows that
# were not delivered: the nudge worker finds its questions among them).
FailureHook = Callable[[str, str, str, Sequence[dict[str, Any]]], Awaitable[None]]
# Called in the unit of work that marks a row sent, with its external id
# (Matrix: the offer's event id becomes the case's thread root).
SentHook = Callable[[UnitOfWork, OutboxMessage, str | None], Awaitable[None]]
# Chats served at once: enough to keep ~30 sends/s flowing over real network
# latency, while each chat still gets its messages one after the other.
DEFAULT_CONCURRENCY = 16
BATCH = 500


def cost(payload: dict[str, Any]) -> int:
    """Bot API calls a payload takes (long texts are split into ~4000-char parts)."""
    if payload.get("kind") == "send":
        return 1 + len(str(payload.get("html", ""))) // 4000
    return 1


class Dispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        senders: dict[str, Sender],
        pacer: Pacer | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.db = db
        self.clock = clock
        self.senders = senders
        self.pacer = pacer or Pacer()
        self.concurrency = concurrency
        self.on_failed: FailureHook | None = None
        self.on_sent: dict[str, SentHook] = {}
        # A 429 pauses the whole transport (like PTB's limiter): Telegram does
        # not say whether the limit hit was the chat's or the bot's.
        self._paused_until: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False
        # Sends recorded together when they come at once (bot/delivery/marks.py).
        self._marks = SentMarks(db, clock)

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the send in hand, start no other, and leave `run`. Cancelling
        a task inside a unit of work instead leaves its connection to be closed
        in the background, which can hang the process at exit."""
        self._stopping = True
        self._wake.set()

    async def deliver_due(self) -> int:
        async with self._lock:
            sent = 0
            for transport, sender in self.senders.items():
                sent += await self._deliver(transport, sender)
            return sent

    def paused(self, transport: str) -> bool:
        until = self._paused_until.get(transport)
        return until is not None and self.clock.now() < until

    async def _deliver(self, transport: str, sender: Sender) -> int:
        """One pass: due rows grouped by chat; chats served concurrently, each
        chat's rows in order, every send paced."""
        if self.paused(transport):
            return 0
        async with self.db.unit() as uow:
            rows = list(await uow.outbox.due(transport, self.clock.now(), limit=BATCH))
        chats: dict[str, list[OutboxMessage]] = {}
        for row in rows:
            chats.setdefault(row.address, []).append(row)
        gate = asyncio.Semaphore(self.concurrency)
        results = await asyncio.gather(
            *(self._deliver_chat(transport, sender, queue, gate) for queue in chats.values())
        )
        return sum(results)

    async def _deliver_chat(
        self,
        transport: str,
        sender: Sender,
        queue: list[OutboxMessage],
        gate: asyncio.Semaphore,
    ) -> int:
        sent = 0
        async with gate:
            for index, row in enumerate(queue):
                if self.paused(transport) or self._stopping:
                    return sent
                async with self.pacer.slot(f"{transport}:{row.address}", cost(row.payload)):
                    result = await self._call(transport, sender, row)
                await self._record_surely(transport, row, result)
                match result:
                    case Sent():
                        sent += 1
                    case RetryAfter():
                        return sent  # later rows of this chat wait behind this one
                    case Failed(reason=reason) if reason.startswith("forbidden"):
                        # Blocked or never started: every later row would fail the
                        # same way, so none is tried (no retry storm).
                        rest = queue[index + 1 :]
                        await self._fail_rest(rest, reason)
                        lost = [r.payload for r in (row, *rest)]
                        await self._report_failure(transport, row.address, reason, lost)
                        return sent
                    case Failed(reason=reason):
                        await self._report_failure(transport, row.address, reason, [row.payload])
        return sent

    async def _call(self, transport: str, sender: Sender, row: OutboxMessage) -> SendResult:
        try:
            return await sender.send(row.address, row.payload)
        except Exception as exc:  # a sender bug must not stop other chats
            log.exception("sender %s failed on outbox row %s", transport, row.id)
            return RetryAfter(seconds=backoff(row.attempts).total_seconds(), reason=repr(exc))

    async def _record_surely(self, transport: str, row: OutboxMessage, result: SendResult) -> None:
        """A message that went out is recorded, even if the database is away for
        a moment: left pending, it would be sent a second time."""
        pause = 0.5
        while True:
            try:
                return await self._record(transport, row, result)
            except Exception as exc:
                if not is_unavailable(exc) or self._stopping:
                    raise
                log.warning("outbox row %s: result not recorded yet (database away)", row.id)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)

    async def _record(self, transport: str, row: OutboxMessage, result: SendResult) -> None:
        if isinstance(result, Sent) and transport not in self.on_sent:
            # A hook needs the row's own unit of work; other marks are grouped.
            await self._marks.mark(row.id, result.external_id)
            return
        now = self.clock.now()
        async with self.db.unit() as uow:
            match result:
                case Sent(external_id=external_id):
                    await uow.outbox.mark_sent(row.id, external_id=external_id, now=now)
                    if transport in self.on_sent:
                        await self.on_sent[transport](uow, row, external_id)
                case RetryAfter(seconds=seconds, reason=reason):
                    if seconds is None:
                        seconds = backoff(row.attempts).total_seconds()
                    at = now + timedelta(seconds=max(seconds, 0.0))
                    await uow.outbox.retry_later(row.id, at=at, error=reason)
                    if "429" in reason:
                        self._paused_until[transport] = max(
                            at, self._paused_until.get(transport, at)
                        )
                    log.warning("outbox row %s delayed %.1fs: %s", row.id, seconds, reason)
                case Failed(reason=reason):
                    await uow.outbox.mark_failed(row.id, error=reason, now=now)
                    log.warning("outbox row %s failed: %s", row.id, reason)

    async def _fail_rest(self, rows: list[OutboxMessage], reason: str) -> None:
        if not rows:
            return
        now = self.clock.now()
        async with self.db.unit() as uow:
            for row in rows:
                await uow.outbox.mark_failed(row.id, error=f"not tried: {reason}", now=now)

    async def _report_failure(
        self, transport: str, address: str, reason: str, payloads: Sequence[dict[str, Any]]
    ) -> None:
        if self.on_failed is None:
            return
        try:
            await self.on_failed(transport, address, reason, payloads)
        except Exception:
            log.exception("failure hook for %s:%s failed", transport, address)

    async def seconds_until_next(self) -> float | None:
        now = self.clock.now()
        earliest = None
        async with self.db.unit() as uow:
            for transport in self.senders:
                due = await uow.outbox.next_due_at(transport)
                if due is not None and (earliest is None or due < earliest):
                    earliest = due
        if earliest is None:
            return None
        return max(0.0, (earliest - now).total_seconds())

    async def run(self, idle_seconds: float = 30.0) -> None:
        """Deliver whenever kicked, when a retry comes due, or every `idle_seconds`."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.deliver_due()
                # Kicked meanwhile: the next pass starts at once, whatever is due.
                wait = 0.0 if self._wake.is_set() else await self.seconds_until_next()
            except Exception:
                log.exception("outbox delivery pass failed; retrying shortly")
                wait = 5.0
            timeout = idle_seconds if wait is None else min(idle_seconds, max(wait, 0.05))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that races with a kick, and stop() would hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
