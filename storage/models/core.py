"""Tables. Times are stored as naive UTC and returned timezone-aware (UTC), the
same on SQLite and PostgreSQL; people see them in Europe/Paris.

Relationships are `lazy="raise"`: repositories load what they need explicitly,
so no query hides behind an attribute access in async code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


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


# Tables defined in their own modules register on `Base.metadata` when imported;
# importing them here means every user of the metadata (create_all, Alembic
# autogenerate) sees them.
import storage.models.catalog  # noqa: E402
import storage.models.coordination  # noqa: E402, F401
