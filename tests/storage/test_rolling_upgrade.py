"""Rolling upgrades: during an upgrade, processes of the previous release run on
the new schema beside the new ones (docs/architecture.md, "Migrations").

A migration may only *expand* the schema: new tables, new columns that old code
can leave out (nullable, or with a server default), new non-unique indexes.
Dropping, renaming or tightening (the *contract* step) waits for a later
release, when no process of the release that still used the old shape runs; a
revision that contracts says which revision's expansion it completes
(`contract_of`). Checked here on every revision after the initial schema, by
running each `upgrade()` against a recorder instead of Alembic's `op`.

And the previous release's own outbox statements (a frozen copy of what
revision 0007's code ran) against this schema, beside the new claim.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from storage.db import Database
from storage.migrate import alembic_config
from storage.models.core import UTCDateTime

# The initial schema: nothing ran before it.
BASELINE = "0001"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Recorder:
    """Stands for `alembic.op` (and for a batch operation's `batch_op`): lets
    expanding operations through, writes down the others."""

    def __init__(self, forbidden: list[str], created: set[str], table: str = "") -> None:
        self.forbidden = forbidden
        self.created = created
        self.table = table

    def f(self, name: str) -> str:
        return name

    def create_table(self, name: str, *columns: Any, **kw: Any) -> None:
        self.created.add(name)

    @contextlib.contextmanager
    def batch_alter_table(self, table: str, **kw: Any) -> Iterator[Recorder]:
        yield Recorder(self.forbidden, self.created, table)

    def add_column(self, *args: Any, **kw: Any) -> None:
        column = args[-1]
        table = args[0] if len(args) == 2 else self.table
        assert isinstance(column, sa.Column)
        if table in self.created:
            return
        if not column.nullable and column.server_default is None:
            self.forbidden.append(
                f"add_column {table}.{column.name}: NOT NULL without a server default "
                "(the previous release's inserts leave it out)"
            )

    def create_index(self, name: str, *args: Any, unique: bool = False, **kw: Any) -> None:
        table = args[0] if len(args) == 2 else self.table
        if unique and table not in self.created:
            self.forbidden.append(
                f"create_index {name}: unique on an existing table (the previous release may "
                "insert what it refuses)"
            )

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kw: Any) -> None:
            self.forbidden.append(f"{name}{args[:2]}")

        return record


def test_revisions_after_the_baseline_only_expand() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = list(reversed(list(scripts.walk_revisions())))
    assert revisions[0].revision == BASELINE
    checked = []
    for script in revisions[1:]:
        module = script.module
        forbidden: list[str] = []
        recorder = Recorder(forbidden, set())
        original = module.op
        module.op = recorder
        try:
            module.upgrade()
        finally:
            module.op = original
        expanded = getattr(module, "contract_of", None)
        if forbidden and expanded is not None:
            ancestors = {
                r.revision for r in scripts.iterate_revisions(script.down_revision, "base")
            }
            assert expanded in ancestors, (
                f"{script.revision}: contract_of {expanded!r} is not earlier"
            )
            continue
        assert forbidden == [], f"revision {script.revision} does not only expand: {forbidden}"
        checked.append(script.revision)
    assert "0008" in checked


def test_the_recorder_catches_a_contraction() -> None:
    """The check itself: what a careless revision would do is caught."""
    forbidden: list[str] = []
    op = Recorder(forbidden, set())
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("ok", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("strict", sa.Integer(), nullable=False))
        batch_op.drop_column("last_error")
        batch_op.create_index("ix_outbox_unique", ["external_id"], unique=True)
    op.rename_table("outbox", "outgoing")
    assert len(forbidden) == 4
    assert forbidden[0].startswith("add_column outbox.strict")


# The previous release's outbox (revision 0007): its table and the statements its
# code ran, copied as they were (storage/repos/outbox.py before the leases).
_OLD = sa.MetaData()
_OLD_OUTBOX = sa.Table(
    "outbox",
    _OLD,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("transport", sa.String(16)),
    sa.Column("address", sa.String(255)),
    sa.Column("payload", sa.JSON),
    sa.Column("state", sa.String(12)),
    sa.Column("attempts", sa.Integer),
    sa.Column("next_attempt_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("sent_at", UTCDateTime()),
    sa.Column("external_id", sa.String(255)),
    sa.Column("last_error", sa.String(500)),
)


def _old_due() -> Any:
    t = _OLD_OUTBOX
    oldest = (
        sa.select(t.c.address, sa.func.min(t.c.id).label("first_id"))
        .where(t.c.transport == sa.bindparam("transport"), t.c.state == "pending")
        .group_by(t.c.address)
        .subquery()
    )
    blocked = (
        sa.select(oldest.c.address)
        .join(t, t.c.id == oldest.c.first_id)
        .where(t.c.next_attempt_at > sa.bindparam("now"))
    )
    return (
        sa.select(t)
        .where(
            t.c.transport == sa.bindparam("transport"),
            t.c.state == "pending",
            t.c.address.not_in(blocked),
        )
        .order_by(t.c.id)
        .limit(sa.bindparam("limit"))
    )


async def _old_enqueue(db: Database, address: str, text: str) -> None:
    async with db.unit() as uow:
        await uow.session.execute(
            sa.insert(_OLD_OUTBOX),
            {
                "transport": "telegram",
                "address": address,
                "payload": {"kind": "send", "html": text, "buttons": []},
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": NOW,
                "created_at": NOW,
            },
        )


async def test_the_previous_release_runs_on_this_schema(database: Database) -> None:
    """Old code queues rows and records its sends on the new schema; the new
    claim takes the old rows, and what old code marks sent is never claimed."""
    await _old_enqueue(database, "1", "vieux-1")
    await _old_enqueue(database, "2", "vieux-2")
    async with database.unit() as uow:
        claimed = await uow.outbox.claim(
            "telegram", NOW, owner="new-1-a", until=NOW + timedelta(seconds=60)
        )
    assert [row.payload["html"] for row in claimed.rows] == ["vieux-1", "vieux-2"]
    assert claimed.resumed == []

    # Old code reads its due rows (it knows nothing of leases) and records a send,
    # a retry and a failure with its own statements.
    await _old_enqueue(database, "3", "vieux-3")
    await _old_enqueue(database, "4", "vieux-4")
    t = _OLD_OUTBOX
    async with database.unit() as uow:
        due = (
            await uow.session.execute(
                _old_due(), {"transport": "telegram", "now": NOW, "limit": 50}
            )
        ).all()
        by_text = {row.payload["html"]: row.id for row in due}
        await uow.session.execute(
            sa.update(t)
            .where(t.c.id == by_text["vieux-1"])
            .values(state="sent", sent_at=NOW, external_id="7", attempts=t.c.attempts + 1)
        )
        await uow.session.execute(
            sa.update(t)
            .where(t.c.id == by_text["vieux-3"])
            .values(
                next_attempt_at=NOW + timedelta(minutes=5),
                last_error="429",
                attempts=t.c.attempts + 1,
            )
        )
        await uow.session.execute(
            sa.update(t)
            .where(t.c.id == by_text["vieux-4"])
            .values(state="failed", last_error="403", sent_at=NOW, attempts=t.c.attempts + 1)
        )
    assert set(by_text) == {"vieux-1", "vieux-2", "vieux-3", "vieux-4"}

    # The new process: its lease on vieux-1 ends with the row sent by old code;
    # vieux-2 it still holds; vieux-3 waits for its retry; vieux-4 failed.
    later = NOW + timedelta(seconds=61)
    async with database.unit() as uow:
        await uow.outbox.release("new-1-a")
        claimed = await uow.outbox.claim(
            "telegram", later, owner="new-2-b", until=later + timedelta(seconds=60)
        )
        assert await uow.outbox.pending_count("telegram") == 2
    assert [row.payload["html"] for row in claimed.rows] == ["vieux-2"]
    at_retry = NOW + timedelta(minutes=6)
    async with database.unit() as uow:
        await uow.outbox.mark_all_sent([(claimed.rows[0].id, "8")], now=at_retry)
        claimed = await uow.outbox.claim(
            "telegram", at_retry, owner="new-2-b", until=at_retry + timedelta(seconds=60)
        )
    assert [row.payload["html"] for row in claimed.rows] == ["vieux-3"]
