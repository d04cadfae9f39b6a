"""A database fresh from `aiguillage db upgrade` holds the migrations' own rows (the case
counter at 0) and nothing else: it is still empty. The guide runs `db upgrade` before the
first start and, on a new server, may run it before a restore (issue 15, item 1)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests import databases
from tests.backup.support import ROOT, cli, plain
from tests.transports.telegram.harness import TOKEN

EXAMPLE = ROOT / "docs" / "exemples" / "mon-catalogue.yaml"


async def test_expect_data_refuses_a_database_that_only_has_its_schema(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[bot]\nexpect_data = true\n", encoding="utf-8")
    url = databases.url(tmp_path, "schema.sqlite3")
    done = await asyncio.to_thread(cli, "db", "upgrade", "--db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = await asyncio.to_thread(cli, "db", "current", "--db", url, cwd=tmp_path)
    assert done.returncode == 0 and "aucune donnée" in plain(done.stdout)
    done = await asyncio.to_thread(
        cli,
        "run",
        "--config",
        str(config),
        "--db",
        url,
        cwd=tmp_path,
        env={"AIGUILLAGE_TELEGRAM_TOKEN": TOKEN},
    )
    assert done.returncode == 2
    lines = plain(done.stderr).strip().splitlines()
    assert len(lines) == 1 and "la base est vide" in lines[0], lines


async def test_restore_after_db_upgrade_needs_no_force(tmp_path: Path) -> None:
    old = databases.url(tmp_path, "ancien.sqlite3")
    done = await asyncio.to_thread(
        cli, "catalog", "import", str(EXAMPLE), "--db", old, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    saved = tmp_path / "sauvegarde"
    done = await asyncio.to_thread(cli, "backup", str(saved), "--db", old, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    new = databases.url(tmp_path, "nouveau.sqlite3")
    done = await asyncio.to_thread(cli, "db", "upgrade", "--db", new, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = await asyncio.to_thread(cli, "restore", str(saved), "--db", new, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = plain(done.stdout)
    assert "restaurée" in out and "ressource(s) active(s)" in out
    assert " 0 ressource(s) active(s)" not in out  # the starter catalog and the file's
