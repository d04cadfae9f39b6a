"""Pacing of outgoing messages under Telegram's flood limits.

Telegram allows about 30 messages per second overall and about one per second
per chat (short bursts tolerated); beyond, it answers 429 with `retry_after`,
and ignoring that can get a bot banned. python-telegram-bot's AIORateLimiter
paces the overall rate only (its per-chat limiter is for groups), allows a burst
of 30 at once and reserves slots ahead, so a stalled event loop releases a
burst. It is not used (one limiter, not two stacked): each lane of the outbox
dispatcher paces itself with its own `Pacer`, around each call:

- overall, evenly spaced calls on a planned grid (one interval apart), each
  at least 3/4 of an interval after the *actual* start of the previous one:
  the loop's small lateness at each wake-up does not add up, and a stalled
  event loop delays, never releases a burst;
- overall, a window: call k+30 is let go only 1 s (and a 10 ms margin for
  the jitter on the way) after call k was *let go*, its planned send time.
  Counted from the observed end of each call instead, every call's round
  trip was added to the window and the rate sat at 0.95 of the limit.
  Counted from the grid's slot instead, a late call k let call k+30 follow
  it within the second: the fake Bot API answered 429s;
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
# What the way to the server may shift a call by, in the window's favour.
DEFAULT_WINDOW_MARGIN = 0.01
# Forget idle chats beyond this many remembered ones.
MAX_CHATS = 50_000


class Pacer:
    def __init__(
        self,
        per_second: float = DEFAULT_PER_SECOND,
        per_chat_per_second: float = DEFAULT_PER_CHAT_PER_SECOND,
        chat_burst: int = DEFAULT_CHAT_BURST,
        window: int | None = DEFAULT_WINDOW,
        window_seconds: float = 1.0,
        window_margin: float = DEFAULT_WINDOW_MARGIN,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.chat_interval = 1.0 / per_chat_per_second if per_chat_per_second > 0 else 0.0
        self.chat_tolerance = max(0, chat_burst - 1) * self.chat_interval
        self.window = window if per_second > 0 else None
        self.window_seconds = window_seconds
        self.window_margin = window_margin
        self.monotonic = monotonic
        self.sleep = sleep
        self._settings = (
            per_second,
            per_chat_per_second,
            chat_burst,
            window,
            window_seconds,
            window_margin,
        )
        self._lock = asyncio.Lock()
        self._next = float("-inf")  # earliest start of the next call overall
        # When each of the last `window` calls was let go.
        self._recent: deque[float] = deque()
        self._chats: dict[str, float] = {}  # theoretical arrival time per chat (GCRA)

    def twin(self) -> Pacer:
        """A pacer with the same settings and its own slots (another transport's)."""
        per_second, per_chat, burst, window, window_seconds, margin = self._settings
        return Pacer(
            per_second=per_second,
            per_chat_per_second=per_chat,
            chat_burst=burst,
            window=window,
            window_seconds=window_seconds,
            window_margin=margin,
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
        """Wait for the right to make `cost` calls for `chat`, then make them."""
        wait = self.reserve_chat(chat, cost)
        if wait > 0:
            await self.sleep(wait)
        await self._grant(cost)
        yield

    async def acquire(self, chat: str, cost: int = 1) -> None:
        """A slot for a call that is over at once (tests, fire-and-forget)."""
        async with self.slot(chat, cost):
            pass

    async def _grant(self, cost: int) -> None:
        if not self.interval:
            return
        # FIFO: callers are granted one at a time, in arrival order.
        async with self._lock:
            planned = max(self._next, self.monotonic())
            if self.window:
                while len(self._recent) + cost > self.window:
                    oldest = self._recent.popleft()
                    planned = max(planned, oldest + self.window_seconds + self.window_margin)
            wait = planned - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            sent_at = self.monotonic()
            # The next call's plan: one interval after this one's plan, so that
            # the loop's lateness at each wake-up does not add up; but never
            # less than ~3/4 of an interval after this one's actual start.
            spacing = cost * self.interval
            self._next = max(planned + spacing, sent_at + spacing - self.interval / 4)
            if self.window:
                self._recent.extend([sent_at] * cost)

    def _forget_idle(self, now: float) -> None:
        for chat in [c for c, tat in self._chats.items() if tat <= now]:
            del self._chats[chat]


class NoPacing(Pacer):
    """For a terminal, and for tests that talk to an unlimited fake."""

    def __init__(self) -> None:
        super().__init__(per_second=0, per_chat_per_second=0)

    def twin(self) -> Pacer:
        return NoPacing()
