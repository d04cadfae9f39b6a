"""Delivery of the outbox: one lane per transport, each with its own task,
wake-up, pacing, pauses and send timeout, so that a frozen homeserver never
holds a Telegram reply and a Telegram backlog never holds a Matrix relay.

In a lane, pending rows are sent in order per conversation, each result
recorded in a short transaction before the conversation's next row (results
that come at once share one, bot/delivery/marks.py). Nothing here holds a
transaction open across a network call. Conversations are served concurrently
(a network round trip per send would otherwise cap throughput far below
Telegram's 30/s), and every send waits for its slot from the lane's `Pacer`
(bot/delivery/pacing.py). The sender's typed answer (bot/delivery/results.py)
decides: `RetryAfter` holds back the row, or the whole lane when its scope is
the transport; `Blocked` stops that conversation's rows and calls `on_blocked`
once (the follow-up flags the case, see bot/followup/blocked.py); `Failed`
gives up on the row alone.

Every process runs a dispatcher, on one database. A pass *claims* its rows:
each gets a lease (this dispatcher's owner name, until now + `LEASE`,
bot/delivery/lease.py) in the claim's short transaction, and keeps it while
the lane renews it; a result clears it, and so do the end of a conversation's
task and a clean stop for the rows left unsent. A conversation whose rows are
leased to a live process is not claimed by another, so each conversation's
order holds across processes (storage/repos/outbox.py, `claim`). The rows of a
process that died are taken over when their lease ends (at once when it is
known dead: same machine, or SQLite). Its conversations' first rows may have
been in flight: they are sent again (Telegram offers no idempotency key;
Matrix reuses the transaction id), at most once, and counted (`on_resumed`,
`aiguillage_outbox_resumed_total`). A lane whose leases could not be renewed
stops sending before they may have ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, assert_never

from bot.delivery import lease as leases
from bot.delivery.marks import SentMarks
from bot.delivery.pacing import Pacer
from bot.delivery.payloads import Message, Payload, PayloadError, from_row
from bot.delivery.results import Blocked, Failed, RetryAfter, Scope, SendResult, Sent
from bot.runtime.clock import Clock
from storage.db import Database, UnitOfWork
from storage.errors import is_unavailable
from storage.repos.outbox import ClaimedRow, backoff

__all__ = [
    "Blocked",
    "Dispatcher",
    "Failed",
    "Lane",
    "RetryAfter",
    "Scope",
    "SendResult",
    "Sender",
    "Sent",
]

log = logging.getLogger(__name__)


class Sender(Protocol):
    async def send(self, address: str, payload: Payload) -> SendResult: ...


# Called once per conversation and pass when the recipient refuses the bot
# (`Blocked`), with (transport, address, reason, the payloads that were not
# delivered: the nudge worker finds its questions among them).
BlockedHook = Callable[[str, str, str, Sequence[Payload]], Awaitable[None]]
# Called in the unit of work that marks a row sent, with its external id
# (Matrix: the offer's event id becomes the case's thread root).
SentHook = Callable[[UnitOfWork, ClaimedRow, str | None], Awaitable[None]]
# Called with (transport, outcome, rows) when a pass takes over rows a dead
# process may have been sending: outcome RESENT (sent again) or GIVEN_UP
# (taken over once already: failed rather than sent a third time).
ResumedHook = Callable[[str, str, int], None]
RESENT = "resent"
GIVEN_UP = "given_up"
# Conversations served at once in a lane: enough to keep ~30 sends/s flowing
# over real network latency, while each still gets its messages one by one.
DEFAULT_CONCURRENCY = 16
BATCH = 500
# A send that has not answered by then is given up for this attempt and
# retried later (Matrix: the same transaction id, so never twice). PTB's own
# timeouts end a Telegram call sooner; this bounds a frozen server.
DEFAULT_SEND_TIMEOUT = 30.0
# Shortest time between two passes of a lane: a burst of updates (each kicks
# the dispatcher) or of conversations ending makes one query, not one each.
PASS_GAP = 0.02
# The transport the configured pacer is for; other lanes get a twin of it.
TELEGRAM = "telegram"


class _Unknown:
    """A next due time a pass did not read (held back or stopping: it read nothing)."""


UNKNOWN = _Unknown()


def cost(payload: Payload) -> int:
    """API calls a payload takes (long texts are split into ~4000-char parts)."""
    if isinstance(payload, Message):
        return 1 + len(payload.html) // 4000
    return 1


class Lane:
    """The delivery of one transport."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        transport: str,
        sender: Sender,
        pacer: Pacer,
    ) -> None:
        self.dispatcher = dispatcher
        self.db = dispatcher.db
        self.clock = dispatcher.clock
        self.transport = transport
        self.sender = sender
        self.pacer = pacer
        # A RetryAfter of scope TRANSPORT pauses the whole lane.
        self.paused_until: datetime | None = None
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()
        # Conversations being delivered, and how many at once.
        self.in_flight: dict[str, asyncio.Task[int]] = {}
        self.gate = asyncio.Semaphore(dispatcher.concurrency)
        # Sends recorded together when they come at once (bot/delivery/marks.py).
        self.marks = SentMarks(dispatcher.db, dispatcher.clock)
        # Until when the last renewal holds every lease of this lane.
        self.renewed_until: datetime | None = None
        self.renewed_at: datetime | None = None
        # When dead owners' leases were last looked for (None: never yet).
        self.recovered_at: datetime | None = None

    @property
    def stopping(self) -> bool:
        return self.dispatcher.stopping

    def paused(self) -> bool:
        return self.paused_until is not None and self.clock.now() < self.paused_until

    def held_back(self) -> bool:
        """Paused, or this process may not send on this transport now (see
        `Dispatcher.may_send`)."""
        may_send = self.dispatcher.may_send.get(self.transport)
        return self.paused() or (may_send is not None and not may_send())

    async def deliver_due(self) -> int:
        """One pass, to its end: the conversations in hand finish, then what is
        due now is sent (tests, benches)."""
        await asyncio.gather(*list(self.in_flight.values()), return_exceptions=True)
        results = await asyncio.gather(*await self.start_due())
        return sum(results)

    async def start_due(self) -> list[asyncio.Task[int]]:
        """Start a task for each conversation with due rows and none in hand:
        a conversation with a long queue (one message a second per Telegram
        chat) never holds the others, and its next rows are taken when it is
        done. Each conversation's rows in order, every send paced."""
        started, _ = await self._start_due(with_next_due=False)
        return started

    async def _start_due(
        self, *, with_next_due: bool
    ) -> tuple[list[asyncio.Task[int]], datetime | _Unknown | None]:
        """`start_due`, and (`with_next_due`) when a pending row is next
        claimable, read in the claim's own transaction: a pass is then one
        transaction, not two (the pass runs after nearly every update)."""
        next_due: datetime | _Unknown | None = UNKNOWN
        async with self.lock:
            if self.held_back() or self.stopping:
                return [], next_due
            if self.recovered_at is None:
                await self.recover()
            # Conversations in hand when the query starts are left alone even if
            # they finish meanwhile: the rows read may be the ones they just sent.
            busy = set(self.in_flight)
            now = self.clock.now()
            until = now + self.dispatcher.lease
            async with self.db.unit() as uow:
                claimed = await uow.outbox.claim(
                    self.transport,
                    now,
                    owner=self.dispatcher.owner,
                    until=until,
                    limit=BATCH,
                    skip=busy,
                )
                if with_next_due:
                    # The rows just claimed count from their lease's end, as
                    # they would in a transaction of their own after this one.
                    next_due = await uow.outbox.next_due_at(self.transport)
            self._count_resumed(claimed.resumed, claimed.given_up)
            chats: dict[str, list[ClaimedRow]] = {}
            for row in claimed.rows:
                chats.setdefault(row.address, []).append(row)
            started = []
            for address, queue in chats.items():
                task = asyncio.create_task(
                    self._deliver_chat(queue, until), name=f"outbox-{address}"
                )
                self.in_flight[address] = task
                task.add_done_callback(functools.partial(self._done, address))
                started.append(task)
            return started, next_due

    def _done(self, address: str, task: asyncio.Task[int]) -> None:
        self.in_flight.pop(address, None)
        if not task.cancelled() and task.exception() is not None:
            # Its rows stay pending and are taken again (a database error, mostly).
            log.error(
                "%s delivery to %s failed", self.transport, address, exc_info=task.exception()
            )
        # Rows queued for it meanwhile are taken at once.
        self.wake.set()

    def _count_resumed(self, resumed: Sequence[ClaimedRow], given_up: Sequence[ClaimedRow]) -> None:
        for row in resumed:
            log.warning(
                "outbox row %s taken over from %s: it may have been sent already, it is sent again",
                row.id,
                row.lease_owner,
            )
        for row in given_up:
            log.error(
                "outbox row %s was being sent by two processes that died: "
                "given up rather than sent a third time",
                row.id,
            )
        hook = self.dispatcher.on_resumed
        if hook is not None:
            if resumed:
                hook(self.transport, RESENT, len(resumed))
            if given_up:
                hook(self.transport, GIVEN_UP, len(given_up))

    def _lease_holds(self, until: datetime) -> bool:
        """Whether a send started now ends while the lease is surely ours."""
        if self.renewed_until is not None:
            until = max(until, self.renewed_until)
        margin = timedelta(seconds=self.dispatcher.send_timeout)
        return self.clock.now() + margin < until

    async def _deliver_chat(self, queue: list[ClaimedRow], until: datetime) -> int:
        """Send a conversation's claimed rows in order; those left unsent when
        it stops early are released for the next pass, here or elsewhere. A
        cancelled task (the process dying) releases nothing: its leases end."""
        sent = 0
        index = 0
        try:
            async with self.gate:
                while index < len(queue):
                    row = queue[index]
                    if self.held_back() or self.stopping:
                        break
                    result = await self._send(row, until)
                    if result is None:
                        log.warning(
                            "%s delivery to %s stopped: its lease could not be renewed",
                            self.transport,
                            row.address,
                        )
                        break
                    await self._record_surely(row, result)
                    index += 1
                    match result:
                        case Sent():
                            sent += 1
                        case RetryAfter():
                            break  # later rows of this conversation wait behind this one
                        case Blocked(reason=reason):
                            # Every later row would fail the same way, so none is
                            # tried (no retry storm).
                            rest = queue[index:]
                            index = len(queue)
                            await self._fail_rest(rest, reason)
                            await self._report_blocked(row.address, reason, (row, *rest))
                        case Failed():
                            pass
                        case _:
                            assert_never(result)
        except Exception:
            with contextlib.suppress(Exception):
                await self._release(queue[index:])
            raise
        await self._release(queue[index:])
        return sent

    async def _release(self, rows: Sequence[ClaimedRow]) -> None:
        if rows:
            async with self.db.unit() as uow:
                await uow.outbox.release(self.dispatcher.owner, [row.id for row in rows])

    async def renew(self) -> None:
        """Extend this lane's leases (while it holds any)."""
        now = self.clock.now()
        until = now + self.dispatcher.lease
        async with self.db.unit() as uow:
            await uow.outbox.renew(self.transport, owner=self.dispatcher.owner, until=until)
        self.renewed_at, self.renewed_until = now, until

    async def recover(self) -> None:
        """End at once the leases of owners known dead (bot/delivery/lease.py)."""
        now = self.clock.now()
        self.recovered_at = now
        async with self.db.unit() as uow:
            owners = await uow.outbox.lease_owners(now)
            dead = [
                owner
                for owner in owners
                if owner != self.dispatcher.owner
                and leases.known_dead(owner, single_process=self.dispatcher.single_process)
            ]
            if dead:
                await uow.outbox.expire_leases(dead, now)
        if dead:
            log.warning("outbox: taking over the rows of %s (not running)", ", ".join(dead))

    async def _upkeep(self) -> None:
        """Renew the leases in hand and look for dead owners, every RENEW_EVERY."""
        now = self.clock.now()
        every = self.dispatcher.lease / 3
        if self.in_flight and (self.renewed_at is None or now - self.renewed_at >= every):
            await self.renew()
        if self.recovered_at is None or now - self.recovered_at >= every:
            await self.recover()

    async def _send(self, row: ClaimedRow, until: datetime) -> SendResult | None:
        """The send's result; None, not sent: the lease may end before the send
        would (checked after the pacer's wait, which can be long)."""
        try:
            payload = from_row(row.payload)
        except PayloadError as exc:
            return Failed(reason=str(exc))
        async with self.pacer.slot(f"{self.transport}:{row.address}", cost(payload)):
            if not self._lease_holds(until):
                return None
            try:
                async with asyncio.timeout(self.dispatcher.send_timeout):
                    return await self.sender.send(row.address, payload)
            except TimeoutError:
                return RetryAfter(
                    seconds=None,
                    reason=f"no answer in {self.dispatcher.send_timeout:.0f} s",
                )
            except Exception as exc:  # a sender bug must not stop other conversations
                log.exception("sender %s failed on outbox row %s", self.transport, row.id)
                return RetryAfter(seconds=backoff(row.attempts).total_seconds(), reason=repr(exc))

    async def _record_surely(self, row: ClaimedRow, result: SendResult) -> None:
        """A message that went out is recorded, even if the database is away for
        a moment: left pending, it would be sent a second time."""
        pause = 0.5
        while True:
            try:
                return await self._record(row, result)
            except Exception as exc:
                if not is_unavailable(exc) or self.stopping:
                    raise
                log.warning("outbox row %s: result not recorded yet (database away)", row.id)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)

    async def _record(self, row: ClaimedRow, result: SendResult) -> None:
        hook = self.dispatcher.on_sent.get(self.transport)
        if isinstance(result, Sent) and hook is None:
            # A hook needs the row's own unit of work; other marks are grouped.
            await self.marks.mark(row.id, result.external_id)
            return
        now = self.clock.now()
        async with self.db.unit() as uow:
            match result:
                case Sent(external_id=external_id):
                    await uow.outbox.mark_sent(row.id, external_id=external_id, now=now)
                    if hook is not None:
                        await hook(uow, row, external_id)
                case RetryAfter(seconds=seconds, reason=reason, scope=scope):
                    if seconds is None:
                        seconds = backoff(row.attempts).total_seconds()
                    at = now + timedelta(seconds=max(seconds, 0.0))
                    await uow.outbox.retry_later(row.id, at=at, error=reason)
                    if scope is Scope.TRANSPORT:
                        self.paused_until = max(at, self.paused_until or at)
                    log.warning("outbox row %s delayed %.1fs: %s", row.id, seconds, reason)
                case Blocked(reason=reason) | Failed(reason=reason):
                    await uow.outbox.mark_failed(row.id, error=reason, now=now)
                    log.warning("outbox row %s failed: %s", row.id, reason)
                case _:
                    assert_never(result)

    async def _fail_rest(self, rows: list[ClaimedRow], reason: str) -> None:
        if not rows:
            return
        now = self.clock.now()
        async with self.db.unit() as uow:
            for row in rows:
                await uow.outbox.mark_failed(row.id, error=f"not tried: {reason}", now=now)

    async def _report_blocked(self, address: str, reason: str, rows: Sequence[ClaimedRow]) -> None:
        hook = self.dispatcher.on_blocked
        if hook is None:
            return
        lost = []
        for row in rows:
            with contextlib.suppress(PayloadError):
                lost.append(from_row(row.payload))
        try:
            await hook(self.transport, address, reason, lost)
        except Exception:
            log.exception("blocked hook for %s:%s failed", self.transport, address)
        # The hook may have queued messages (the coordinators told), on any transport.
        self.dispatcher.kick()

    async def seconds_until_next(self) -> float | None:
        async with self.db.unit() as uow:
            due = await uow.outbox.next_due_at(self.transport)
        return self._wait_for(due)

    def _wait_for(self, due: datetime | None) -> float | None:
        """Seconds until `due`, or until the lane's pause ends if later."""
        if due is None:
            return None
        wait = (due - self.clock.now()).total_seconds()
        if self.paused_until is not None:
            wait = max(wait, (self.paused_until - self.clock.now()).total_seconds())
        return max(0.0, wait)

    async def _pass(self) -> float | None:
        """One pass of `run`: start what is due; how long to wait for the next
        one (None: nothing pending)."""
        await self._upkeep()
        started, next_due = await self._start_due(with_next_due=True)
        if self.wake.is_set():
            # Kicked meanwhile: the next pass starts at once, whatever is due.
            return 0.0
        if isinstance(next_due, _Unknown):
            wait = await self.seconds_until_next()
        else:
            wait = self._wait_for(next_due)
        if wait == 0.0 and (self.in_flight or not started) and not self.wake.is_set():
            # What is due is in hand, here (its end wakes the lane) or in
            # another process, or this process may not send it now.
            wait = 1.0
        return wait

    async def run(self, idle_seconds: float) -> None:
        """Start what is due whenever kicked, when a conversation is done, when a
        retry comes due, or every `idle_seconds`; at `stop`, let the
        conversations in hand finish the send in hand."""
        loop = asyncio.get_running_loop()
        try:
            while not self.stopping:
                self.wake.clear()
                began = loop.time()
                try:
                    wait = await self._pass()
                except Exception:
                    log.exception("%s delivery pass failed; retrying shortly", self.transport)
                    wait = 5.0
                # Back in time to renew the leases and to notice dead owners.
                upkeep = self.dispatcher.lease.total_seconds() / 3
                timeout = (
                    min(idle_seconds, upkeep)
                    if wait is None
                    else min(idle_seconds, upkeep, max(wait, 0.05))
                )
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that races with a kick, and stop() would hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self.wake.wait()
                # Kicks and ends that come close together share one pass (each
                # pass is a query): at most one every PASS_GAP seconds.
                rest = began + PASS_GAP - loop.time()
                if rest > 0 and not self.stopping:
                    await asyncio.sleep(rest)
        finally:
            await asyncio.gather(*self.in_flight.values(), return_exceptions=True)


class Dispatcher:
    """The lanes of every transport with a sender. `pacer` paces Telegram; every
    other lane gets a pacer of its own with the same
    settings, so that no transport waits for another's slots."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        senders: dict[str, Sender],
        pacer: Pacer | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        send_timeout: float = DEFAULT_SEND_TIMEOUT,
        *,
        on_blocked: BlockedHook | None = None,
        on_sent: Mapping[str, SentHook] | None = None,
        on_resumed: ResumedHook | None = None,
        may_send: Mapping[str, Callable[[], bool]] | None = None,
        owner: str | None = None,
        lease: timedelta = leases.LEASE,
    ) -> None:
        self.db = db
        self.clock = clock
        # This process's name on the rows it claims (hostname-pid-random).
        self.owner = owner or leases.new_owner()
        leases.register(self.owner)
        self.lease = lease
        # SQLite runs one process at a time: any other owner is a dead one.
        self.single_process = db.dialect == "sqlite"
        self.pacer = pacer or Pacer()
        self.concurrency = concurrency
        self.send_timeout = send_timeout
        self.on_blocked = on_blocked
        self.on_sent: Mapping[str, SentHook] = on_sent or {}
        self.on_resumed = on_resumed
        # Per transport, whether this process may send on it now; absent: always.
        # Matrix needs the process that syncs (room state, device keys): a lane
        # elsewhere would take its rows only to be told "not ready".
        self.may_send: Mapping[str, Callable[[], bool]] = may_send or {}
        self.stopping = False
        self._lanes = {
            transport: Lane(self, transport, sender, self.pacer_for(transport))
            for transport, sender in senders.items()
        }

    def pacer_for(self, transport: str) -> Pacer:
        return self.pacer if transport == TELEGRAM else self.pacer.twin()

    def lane(self, transport: str) -> Lane:
        return self._lanes[transport]

    def lanes(self) -> list[Lane]:
        return list(self._lanes.values())

    def kick(self, transport: str | None = None) -> None:
        """Wake one lane, or all of them."""
        for lane in self._lanes.values():
            if transport is None or lane.transport == transport:
                lane.wake.set()

    def stop(self) -> None:
        """Finish the sends in hand, start no other, and leave `run`. Cancelling
        a task inside a unit of work instead leaves its connection to be closed
        in the background, which can hang the process at exit."""
        self.stopping = True
        for lane in self._lanes.values():
            lane.wake.set()

    async def deliver_due(self) -> int:
        """One pass of every lane, side by side."""
        sent = await asyncio.gather(*(lane.deliver_due() for lane in self.lanes()))
        return sum(sent)

    def paused(self, transport: str) -> bool:
        lane = self._lanes.get(transport)
        return lane is not None and lane.paused()

    async def seconds_until_next(self) -> float | None:
        waits = [await lane.seconds_until_next() for lane in self.lanes()]
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    async def run(self, idle_seconds: float = 30.0) -> None:
        """Every lane in its own task until `stop`; a lane that dies takes the
        others down with it (the service notices and stops)."""
        tasks = [
            asyncio.create_task(lane.run(idle_seconds), name=f"outbox-{lane.transport}")
            for lane in self.lanes()
        ]
        if not tasks:
            return
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.stopping:
                await self.release()

    async def release(self) -> None:
        """A clean stop: the rows still leased to this process are claimable at
        once by the others (or by the next start), not after their lease."""
        try:
            async with self.db.unit() as uow:
                released = await uow.outbox.release(self.owner)
        except Exception as exc:  # the database away at exit: the leases end by themselves
            log.warning("outbox leases not released (%s): they end in %s", exc, self.lease)
            return
        leases.retire(self.owner)
        if released:
            log.info("outbox: %d rows released for the other processes", released)
