"""Pacing of outgoing messages under Telegram's flood limits.

Telegram allows about 30 messages per second overall and about one per second
per chat (short bursts tolerated); beyond, it answers 429 with `retry_after`,
and ignoring that can get a bot banned. python-telegram-bot's AIORateLimiter
paces the overall rate only (its per-chat limiter is for groups), allows a burst
of 30 at once and reserves slots ahead, so a stalled event loop releases a
burst. It is not used (one limiter, not two stacked): each lane of the outbox
dispatcher paces itself with its own `Pacer`, around each call:

- overall, evenly spaced calls counted from their *planned* send time: call
  k+1 is planned one interval after call k's plan, not after the observed
  moment call k went (never less than 3/4 of an interval after it, so a
  stalled event loop delays, never releases a burst). Counted from the
  observed moment, the loop's lateness at every wake-up added up and the rate
  sat at 0.95 of the limit (bench/nudges.py); from the plan it is 0.99;
- overall, a window: call k+30 starts only 1 s after call k has *finished*.
  Call k reached the server before it finished, so no 1-second window of the
  server's clock ever sees more than 30, whatever the jitter on the way.
  Counted from call k's send time instead (planned or actual), the jitter
  between the bot's loop and the server let 31 calls into a second: the fake
  Bot API answered 8 to 19 429s per bench run, each pausing every send 1 s;
- per chat, a sustained rate with a small burst (GCRA): a reply that edits a
  message and asks the next question is two calls in a row.

Real time, not the injected domain clock: this is about the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

# Spacing at the limit itself is safe: the window below is what guarantees it.
DEFAULT_PER_SECOND = 30.0
DEFAULT_WINDOW = 30
DEFAULT_PER_CHAT_PER_SECOND = 1.0
DEFAULT_CHAT_BURST = 3
# Forget idle chats beyond this many remembered ones.
MAX_CHATS = 50_000


class _Call:
    """One granted call; `finished` is set when its answer is back."""

    __slots__ = ("done", "finished_at")

    def __init__(self) -> None:
        self.finished_at: float | None = None
        self.done = asyncio.Event()

    def finish(self, at: float) -> None:
        self.finished_at = at
        self.done.set()


class Pacer:
    def __init__(
        self,
        per_second: float = DEFAULT_PER_SECOND,
        per_chat_per_second: float = DEFAULT_PER_CHAT_PER_SECOND,
        chat_burst: int = DEFAULT_CHAT_BURST,
        window: int | None = DEFAULT_WINDOW,
        window_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.chat_interval = 1.0 / per_chat_per_second if per_chat_per_second > 0 else 0.0
        self.chat_tolerance = max(0, chat_burst - 1) * self.chat_interval
        self.window = window if per_second > 0 else None
        self.window_seconds = window_seconds
        self.monotonic = monotonic
        self.sleep = sleep
        self._settings = (
            per_second,
            per_chat_per_second,
            chat_burst,
            window,
            window_seconds,
        )
        self._lock = asyncio.Lock()
        self._next = float("-inf")  # earliest start of the next call overall
        self._recent: deque[_Call] = deque()
        self._chats: dict[str, float] = {}  # theoretical arrival time per chat (GCRA)

    def twin(self) -> Pacer:
        """A pacer with the same settings and its own slots (another transport's)."""
        per_second, per_chat, burst, window, window_seconds = self._settings
        return Pacer(
            per_second=per_second,
            per_chat_per_second=per_chat,
            chat_burst=burst,
            window=window,
            window_seconds=window_seconds,
            monotonic=self.monotonic,
            sleep=self.sleep,
        )

    def reserve_chat(self, chat: str, cost: int = 1) -> float:
        """Book `chat`'s next slot; how long to wait for it."""
        if not self.chat_interval:
            return 0.0
        now = self.monotonic()
        tat = max(self._chats.get(chat, now), now)
        start = max(now, tat - self.chat_tolerance)
        self._chats[chat] = tat + cost * self.chat_interval
        if len(self._chats) > MAX_CHATS:
            self._forget_idle(now)
        return start - now

    @asynccontextmanager
    async def slot(self, chat: str, cost: int = 1) -> AsyncIterator[None]:
        """Wait for the right to make `cost` calls for `chat`; hold it while the
        calls are in flight (their end feeds the window)."""
        wait = self.reserve_chat(chat, cost)
        if wait > 0:
            await self.sleep(wait)
        call = await self._grant(cost)
        try:
            yield
        finally:
            if call is not None:
                call.finish(self.monotonic())

    async def acquire(self, chat: str, cost: int = 1) -> None:
        """A slot for a call that is over at once (tests, fire-and-forget)."""
        async with self.slot(chat, cost):
            pass

    async def _grant(self, cost: int) -> _Call | None:
        if not self.interval:
            return None
        # FIFO: callers are granted one at a time, in arrival order.
        async with self._lock:
            planned = max(self._next, self.monotonic())
            if self.window:
                while len(self._recent) + cost > self.window:
                    oldest = self._recent[0]
                    if oldest.finished_at is None:
                        await oldest.done.wait()
                    assert oldest.finished_at is not None
                    planned = max(planned, oldest.finished_at + self.window_seconds)
                    self._recent.popleft()
            wait = planned - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            sent_at = self.monotonic()
            # The next call's plan: one interval after this one's plan, so that
            # the loop's lateness at each wake-up does not add up; but never
            # less than ~3/4 of an interval after this one's actual start.
            spacing = cost * self.interval
            self._next = max(planned + spacing, sent_at + spacing - self.interval / 4)
            call = _Call()
            if self.window:
                self._recent.extend([call] * cost)
            return call

    def _forget_idle(self, now: float) -> None:
        for chat in [c for c, tat in self._chats.items() if tat <= now]:
            del self._chats[chat]


class NoPacing(Pacer):
    """For a terminal, and for tests that talk to an unlimited fake."""

    def __init__(self) -> None:
        super().__init__(per_second=0, per_chat_per_second=0)

    def twin(self) -> Pacer:
        return NoPacing()
