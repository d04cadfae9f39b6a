"""Schema discipline: one head, and the migrations produce exactly the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.migrate import current_revision, head_revisions
from storage.models.base import Base


def test_one_head() -> None:
    assert len(head_revisions()) == 1


async def test_migrations_match_models(database: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []
    assert await current_revision(database) == head_revisions()[0]
