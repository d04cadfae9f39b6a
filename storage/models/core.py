"""The core tables: people, conversations, processed updates, cases and their
timeline, the outbox.

Relationships are `lazy="raise"`: repositories load what they need explicitly,
so no query hides behind an attribute access in async code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

# UTCDateTime is re-exported: the migrations name it `storage.models.core.UTCDateTime`.
from storage.models.base import Base, UTCDateTime

__all__ = ["Base", "UTCDateTime"]


class Person(Base):
    """Someone who consented to have their answers stored."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("transport", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transport: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    consent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Conversation(Base):
    """Where a chat stands in its dialog; one row per chat address."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("transport", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transport: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ProcessedUpdate(Base):
    """Incoming ids already handled. The primary key is the deduplication: a
    second insert of the same id fails inside the unit of work."""

    __tablename__ = "processed_updates"

    transport: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(index=True)


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Case(Base):
    """A confirmed problem sheet."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(24), index=True)
    locale: Mapped[str] = mapped_column(String(8))
    lieu_name: Mapped[str | None] = mapped_column(String(255))
    departement: Mapped[str | None] = mapped_column(String(3))
    commune: Mapped[str | None] = mapped_column(String(255))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    region: Mapped[str | None] = mapped_column(String(3), index=True)
    role: Mapped[str | None] = mapped_column(String(255))
    themes: Mapped[list[Any]]
    problem: Mapped[str | None] = mapped_column(Text)
    tried: Mapped[str | None] = mapped_column(Text)
    goal: Mapped[str | None] = mapped_column(Text)
    constraints: Mapped[str | None] = mapped_column(Text)
    help: Mapped[list[Any]]
    urgency: Mapped[str | None] = mapped_column(String(16))
    # Resources the person marked as interesting among the proposals.
    interests: Mapped[list[Any]] = mapped_column(default=list)
    contact_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CaseEvent(Base):
    """Append-only timeline of a case: who did what, when."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]


class OutboxMessage(Base):
    """A message to send, committed with the state that decided it, then sent.

    `state`: pending → sent | failed. A pending row whose send was interrupted is
    sent again after a restart (at-least-once towards Telegram, which has no
    idempotency key).

    `lease_owner`, `lease_until`: the process delivering the row and until when
    (bot/delivery/outbox.py); both empty when no process holds it. `takeovers`:
    how many times the row was taken from a process that died while it may have
    been sending it (NULL: never). Nullable, so that a process of the previous
    release can insert rows beside this one (docs/deploiement.md, rolling upgrade).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        # The claim reads each conversation's pending rows in order.
        Index("ix_outbox_chat", "transport", "state", "address", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transport: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(String(500))
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    takeovers: Mapped[int | None] = mapped_column(Integer)
