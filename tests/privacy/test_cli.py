"""`aiguillage privacy purge [--dry-run]`, as an operator runs it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.cli.commands import main
from storage.db import Database
from storage.migrate import upgrade
from storage.models.core import Case
from tests import databases
from tests.privacy.support import add_aiguilleurs, seed_person


async def old_closed_case(url: str) -> str:
    """A case closed 30 months ago (the purge runs on the real clock)."""
    long_ago = datetime.now(UTC) - timedelta(days=30 * 31)
    db = Database(url)
    try:
        await upgrade(db)
        await add_aiguilleurs(db, long_ago)
        who = await seed_person(db, 1, long_ago)
        async with db.unit() as uow:
            await uow.session.execute(
                update(Case).where(Case.id == who.case_id).values(status="clos")
            )
        return who.ref
    finally:
        await db.dispose()


def printed(capsys: pytest.CaptureFixture[str]) -> str:
    """What was printed, French no-break spaces as plain ones."""
    return capsys.readouterr().out.replace("\u00a0", " ")


def test_purge_dry_run_then_for_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = databases.url(tmp_path, "purge.sqlite3")
    ref = asyncio.run(old_closed_case(url))

    assert main(["privacy", "purge", "--dry-run", "--db", url]) == 0
    out = printed(capsys)
    assert "Simulation" in out and "Dossiers clos à anonymiser : 1" in out
    assert "Personnes à effacer : 1" in out and ref in out

    assert main(["privacy", "purge", "--db", url]) == 0
    out = printed(capsys)
    assert "Purge faite" in out and "Dossiers clos anonymisés : 1" in out
    assert "Personnes effacées : 1" in out

    assert main(["privacy", "purge", "--db", url]) == 0
    assert "Dossiers clos anonymisés : 0" in printed(capsys)


def test_purge_with_retention_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = databases.url(tmp_path, "off.sqlite3")
    asyncio.run(old_closed_case(url))
    config = tmp_path / "config.toml"
    config.write_text("[privacy]\nretention_months = 0\n")
    assert main(["privacy", "purge", "--config", str(config), "--db", url]) == 0
    out = printed(capsys)
    assert "gardés sans limite" in out and "Simulation" not in out
    assert main(["privacy", "purge", "--dry-run", "--config", str(config), "--db", url]) == 0
    assert "Simulation" in printed(capsys)
