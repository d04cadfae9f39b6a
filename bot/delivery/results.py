"""What a sender answers for one outbox row. The dispatcher decides on the type
alone, never on the text of a reason (which is only logged and stored)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Scope(Enum):
    """What a `RetryAfter` holds back."""

    # This row (and the later rows of its conversation, which wait behind it).
    CHAT = "chat"
    # Every conversation of the transport: the limit hit is the bot's account
    # (Synapse), or the server does not say whose it is (Telegram's 429).
    TRANSPORT = "transport"


@dataclass(frozen=True, slots=True)
class Sent:
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class RetryAfter:
    # None: the sender knows no delay; the row backs off by its attempts.
    seconds: float | None
    reason: str
    scope: Scope = Scope.CHAT


@dataclass(frozen=True, slots=True)
class Blocked:
    """The recipient refuses the bot (blocked it, never started it): this row and
    every later one of the conversation would fail the same way."""

    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    """Permanent for this row only (a bad request): retrying would fail the same way."""

    reason: str


SendResult = Sent | RetryAfter | Blocked | Failed
