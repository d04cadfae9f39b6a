"""Per-person flood limit: a token bucket per sender, read on the injected clock.

Rules:
- Each sender (transport + sender id) has a bucket of `burst` tokens that
  refills at `per_second`; every update they send takes one. The defaults (20,
  then 1 a second) let through what people really do — an album of 10 photos
  arrives as 10 updates, a batch of forwarded messages as many, a quick intake
  with theme buttons a few a second — and stop a script or a stuck key.
- An update without a token is not read. `Runtime.handle` still claims its id
  (a redelivery after a restart must not be read later, when the bucket is
  full again) and, for the first one of a flood episode only, queues ONE polite
  warning that says the last messages were not read and should be sent again
  after a pause. Keeping them instead would feed a flood into the intake's
  answers or an aiguilleur's thread, which is what the limit is for.
- A flood episode ends when the bucket is full again (the person stayed calm
  `burst / per_second` seconds); the next overflow warns again.
- A retry of the same update (a database hiccup) gets the same verdict without
  taking another token: the bucket remembers its last update key.
- In memory, per process: Telegram allows one consumer per token, so one
  process sees all of a person's updates; a restart forgives everyone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Verdict(enum.Enum):
    ADMIT = "admit"
    # Refused, the first of its episode: the person is told once.
    WARN = "warn"
    # Refused, already told.
    DROP = "drop"


@dataclass(frozen=True, slots=True, kw_only=True)
class FloodLimit:
    burst: int = 20
    per_second: float = 1.0

    @property
    def calm_seconds(self) -> float:
        """How long a sender must stay quiet for a new episode to begin."""
        return self.burst / self.per_second


@dataclass(slots=True)
class Bucket:
    tokens: float
    at: datetime
    warned: bool = False
    last_key: str | None = None
    last: Verdict = Verdict.ADMIT


class FloodGate:
    def __init__(self, limit: FloodLimit | None = None, max_senders: int = 10_000) -> None:
        """`limit=None` disables the gate (the terminal chat has no flood)."""
        self.limit = limit
        self.max_senders = max_senders
        self._buckets: dict[str, Bucket] = {}
        self._prune_at = max_senders

    @classmethod
    def disabled(cls) -> FloodGate:
        return cls(None)

    def check(self, sender: str, update_key: str, now: datetime) -> Verdict:
        limit = self.limit
        if limit is None:
            return Verdict.ADMIT
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            bucket = self._buckets[sender] = Bucket(tokens=float(limit.burst), at=now)
        elif bucket.last_key == update_key:
            return bucket.last
        else:
            self._refill(bucket, now)
        if bucket.tokens >= limit.burst:
            bucket.warned = False  # calm long enough: a new episode may begin
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            verdict = Verdict.ADMIT
        elif not bucket.warned:
            bucket.warned = True
            verdict = Verdict.WARN
        else:
            verdict = Verdict.DROP
        bucket.last_key, bucket.last = update_key, verdict
        return verdict

    def _refill(self, bucket: Bucket, now: datetime) -> None:
        assert self.limit is not None
        # A clock set backwards (tests, NTP) refills nothing rather than draining.
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        refilled = bucket.tokens + elapsed * self.limit.per_second
        bucket.tokens = min(float(self.limit.burst), refilled)
        bucket.at = max(now, bucket.at)

    def _prune(self, now: datetime) -> None:
        """Forget full buckets: a fresh one is the same (a full bucket also ends
        its episode). Amortised: the next pruning waits until the table doubled."""
        assert self.limit is not None
        burst = self.limit.burst
        for sender, bucket in list(self._buckets.items()):
            self._refill(bucket, now)
            if bucket.tokens >= burst:
                del self._buckets[sender]
        self._prune_at = max(self.max_senders, 2 * len(self._buckets))

    def __len__(self) -> int:
        return len(self._buckets)
