"""Pacing of outgoing messages under Telegram's flood limits.

Telegram allows about 30 messages per second overall and about one per second
per chat (short bursts tolerated); beyond, it answers 429 with `retry_after`,
and ignoring that can get a bot banned. python-telegram-bot's AIORateLimiter
paces the overall rate only (its per-chat limiter is for groups), allows a burst
of 30 at once and reserves slots ahead, so a stalled event loop releases a
burst. The dispatcher therefore paces itself, around each Bot API call:

- overall, evenly spaced calls, each at least one interval after the *actual*
  start of the previous one (a stalled event loop delays, never compresses);
- overall, a window: call k+30 starts only 1 s after the time call k was
  *planned* to start (the slot the spacing gave it). Counted from the observed
  end of each call instead, every call's round trip was added to the window
  and the rate sat at 0.95 of the limit; a call late on its plan (a stalled
  loop) cannot bring the next one closer than the spacing rule above;
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
        self._settings = (per_second, per_chat_per_second, chat_burst, window, window_seconds)
        self._lock = asyncio.Lock()
        self._next = float("-inf")  # earliest start of the next call overall
        # Planned start of each of the last `window` calls.
        self._recent: deque[float] = deque()
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
                    planned = max(planned, oldest + self.window_seconds)
            wait = planned - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            # The next call's plan: one interval after this one's actual start.
            self._next = self.monotonic() + cost * self.interval
            if self.window:
                self._recent.extend([planned] * cost)

    def _forget_idle(self, now: float) -> None:
        for chat in [c for c, tat in self._chats.items() if tat <= now]:
            del self._chats[chat]


class NoPacing(Pacer):
    """For a terminal, and for tests that talk to an unlimited fake."""

    def __init__(self) -> None:
        super().__init__(per_second=0, per_chat_per_second=0)

    def twin(self) -> Pacer:
        return NoPacing()
