"""Delivery of the outbox: pending rows are sent in order per chat, each result
recorded in its own short transaction. Nothing here holds a transaction open
across a network call.

One dispatcher runs per process; Telegram allows one consumer per token, so
one process sends for it. A row whose send was interrupted by a crash is sent
again after restart (Telegram offers no idempotency key).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock
from storage.db import Database
from storage.repos.outbox import backoff

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sent:
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class RetryAfter:
    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    """Permanent: retrying would fail the same way (blocked bot, bad request)."""

    reason: str


SendResult = Sent | RetryAfter | Failed


class Sender(Protocol):
    async def send(self, address: str, payload: dict[str, Any]) -> SendResult: ...


class Dispatcher:
    def __init__(self, db: Database, clock: Clock, senders: dict[str, Sender]) -> None:
        self.db = db
        self.clock = clock
        self.senders = senders
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def kick(self) -> None:
        self._wake.set()

    async def deliver_due(self) -> int:
        async with self._lock:
            sent = 0
            for transport, sender in self.senders.items():
                sent += await self._deliver(transport, sender)
            return sent

    async def _deliver(self, transport: str, sender: Sender) -> int:
        now = self.clock.now()
        async with self.db.unit() as uow:
            rows = list(await uow.outbox.due(transport, now))
        held: set[str] = set()
        sent = 0
        for row in rows:
            if row.address in held:
                continue
            try:
                result = await sender.send(row.address, row.payload)
            except Exception as exc:  # a sender bug must not stop other chats
                log.exception("sender %s failed on outbox row %s", transport, row.id)
                result = RetryAfter(seconds=backoff(row.attempts).total_seconds(), reason=repr(exc))
            now = self.clock.now()
            async with self.db.unit() as uow:
                match result:
                    case Sent(external_id=external_id):
                        await uow.outbox.mark_sent(row.id, external_id=external_id, now=now)
                        sent += 1
                    case RetryAfter(seconds=seconds, reason=reason):
                        held.add(row.address)
                        at = now + timedelta(seconds=max(seconds, 0.0))
                        await uow.outbox.retry_later(row.id, at=at, error=reason)
                        log.warning("outbox row %s delayed %.1fs: %s", row.id, seconds, reason)
                    case Failed(reason=reason):
                        await uow.outbox.mark_failed(row.id, error=reason, now=now)
                        log.warning("outbox row %s failed: %s", row.id, reason)
        return sent

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
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
                wait = await self.seconds_until_next()
            except Exception:
                log.exception("outbox delivery pass failed; retrying shortly")
                wait = 5.0
            timeout = idle_seconds if wait is None else min(idle_seconds, max(wait, 0.05))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
