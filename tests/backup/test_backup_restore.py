"""`aiguillage backup` and `aiguillage restore` on the session's engine (`--db=sqlite`,
`--db=postgresql`): a person is mid-conversation with the real bot over the fake Bot
API, the sysadmin backs up, the database is wiped, restored, and the bot asks the
person the very next question."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import Database
from storage.migrate import head_revisions, upgrade
from tests import databases
from tests.backup.support import ROOT, cli, plain
from tests.fakes.postgres import PostgresServer
from tests.fakes.telegram_api import FakeTelegram
from tests.transports.telegram.harness import answer, bot_config, choose, running_bot

# The code's schema revision (each new migration moves it).
HEAD = head_revisions()[0]
DEMO_CATALOG = ROOT / "docs" / "exemples" / "mon-catalogue.yaml"


async def wipe(url: str) -> None:
    """What a lost server leaves: no table at all (a SQLite file gone)."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def run(*args: str, cwd: Path) -> tuple[int, str, str]:
    done = await asyncio.to_thread(cli, *args, cwd=cwd)
    return done.returncode, plain(done.stdout), plain(done.stderr)


async def test_backup_wipe_restore_and_the_conversation_resumes(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    config = bot_config(tg, tmp_path / "data")
    url = config.database.url
    camille = tg.user("Camille")
    async with running_bot(config):
        await answer(camille, "/start")
        await choose(camille, "J'accepte")
        asked = await answer(camille, "La Fabrique")  # now asked where the place is
        assert (
            "commune" in (asked.plain_text or "").lower()
            or "code postal" in (asked.plain_text or "").lower()
        )
        # Backed up while the bot runs, as the nightly cron does.
        saved = tmp_path / "sauvegardes" / "2026-12-07"
        code, out, err = await run("backup", str(saved), "--db", url, cwd=tmp_path)
        assert code == 0, err
    assert f"Sauvegarde écrite dans {saved}" in out and "1 personne(s)" in out
    manifest = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"] == databases.session_engine()
    assert manifest["schema"] == HEAD and manifest["matrix_store"] is False
    assert manifest["created_at"].endswith("+00:00") and manifest["app_version"]
    assert (saved / manifest["database"]).stat().st_size > 0
    assert (saved.stat().st_mode & 0o777) == 0o700
    assert not list(saved.parent.glob(".*partial"))
    # Without Matrix, nothing about Matrix: no error, no folder, no line.
    assert not (saved / "matrix-store").exists() and "Matrix" not in out

    await wipe(url)
    code, out, _ = await run("db", "current", "--db", url, cwd=tmp_path)
    assert code == 1 and "aiguillage restore" in out and "None" not in out

    code, out, err = await run("restore", str(saved), "--db", url, cwd=tmp_path)
    assert code == 0, err
    assert "restaurée" in out and "1 personne(s)" in out and "0 dossier(s)" in out

    # Restoring again over the data now there is refused, and changes nothing.
    code, out, err = await run("restore", str(saved), "--db", url, cwd=tmp_path)
    assert code == 2 and out == ""
    assert "--force" in err and "1 personne(s)" in err and len(err.strip().splitlines()) == 1

    async with running_bot(config):
        confirm = await answer(camille, "29200")
        assert "C'est bien ça" in (confirm.plain_text or "")
        nxt = await choose(camille, "Oui, c'est ça")
        assert nxt.buttons  # the intake goes on (her role)


async def test_force_replaces_and_a_newer_backup_is_refused(tmp_path: Path) -> None:
    source = databases.url(tmp_path, "source.sqlite3")
    code, _out, err = await run("demo-data", "--db", source, cwd=tmp_path)
    assert code == 0, err
    saved = tmp_path / "vieille"
    code, _out, err = await run("backup", str(saved), "--db", source, cwd=tmp_path)
    assert code == 0, err
    manifest_path = saved / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))

    target = databases.url(tmp_path, "cible.sqlite3")
    code, _out, err = await run("db", "upgrade", "--db", target, cwd=tmp_path)
    assert code == 0, err
    code, out, err = await run("catalog", "import", str(DEMO_CATALOG), "--db", target, cwd=tmp_path)
    assert code == 0, err
    code, out, err = await run("restore", str(saved), "--db", target, cwd=tmp_path)
    assert code == 2 and "--force" in err and "0 dossier(s)" in err

    # A backup from a newer Aiguillage is refused before anything changes.
    newer = tmp_path / "future"
    shutil.copytree(saved, newer)
    future = {**manifest, "schema": "0099", "app_version": "9.0.0"}
    (newer / "manifest.json").write_text(json.dumps(future), encoding="utf-8")
    code, out, err = await run("restore", str(newer), "--db", target, "--force", cwd=tmp_path)
    assert code == 2 and "0099" in err and "9.0.0" in err and "plus récent" in err

    code, out, err = await run("restore", str(saved), "--db", target, "--force", cwd=tmp_path)
    assert code == 0, err
    assert "40 dossier(s)" in out
    code, out, _ = await run("db", "current", "--db", target, cwd=tmp_path)
    assert code == 0 and f"Version du schéma : {HEAD} (dernière : {HEAD})" in out


async def test_an_older_schema_is_upgraded_on_restore(tmp_path: Path) -> None:
    old_url = databases.url(tmp_path, "ancienne.sqlite3")
    db = Database(old_url)
    try:
        await upgrade(db, "0005")
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO people (transport, external_id, display_name, locale, "
                    "consent_at, created_at) VALUES ('telegram', '42', 'Camille', 'fr', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        await db.dispose()
    saved = tmp_path / "vieille"
    code, out, err = await run("backup", str(saved), "--db", old_url, cwd=tmp_path)
    assert code == 0, err
    assert "schéma 0005" in out
    fresh = databases.url(tmp_path, "neuve.sqlite3")
    code, out, err = await run("restore", str(saved), "--db", fresh, cwd=tmp_path)
    assert code == 0, err
    assert f"mis à jour de 0005 à {HEAD}" in out and "1 personne(s)" in out


async def test_refusals_are_one_line_and_leave_nothing(tmp_path: Path) -> None:
    url = databases.url(tmp_path, "base.sqlite3")
    code, _out, err = await run("backup", str(tmp_path / "b"), "--db", url, cwd=tmp_path)
    # No schema (SQLite: no file at all): nothing to save, and no folder left behind.
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists() and not list(tmp_path.glob(".b.partial"))
    code, _out, err = await run("restore", str(tmp_path / "absent"), "--db", url, cwd=tmp_path)
    assert code == 2 and "manifest.json" in err and "introuvable" in err
    assert "No such file" not in err


async def test_root_restoring_into_the_bots_folder_is_refused(tmp_path: Path) -> None:
    """Run as root (CI, a sysadmin forgetting `sudo -u aiguillage`): the bot's folder
    belongs to another user, so the restore refuses instead of leaving root's files."""
    source = databases.sqlite_url(tmp_path, "source.sqlite3")
    code, _out, err = await run("db", "upgrade", "--db", source, cwd=tmp_path)
    assert code == 0, err
    saved = tmp_path / "sauvegarde"
    code, _out, err = await run("backup", str(saved), "--db", source, cwd=tmp_path)
    assert code == 0, err
    folder = tmp_path / "var-lib-aiguillage"
    folder.mkdir()
    if os.geteuid() == 0:
        os.chown(folder, 65534, 65534)
    target = databases.sqlite_url(folder, "aiguillage.sqlite3")
    code, out, err = await run("restore", str(saved), "--db", target, cwd=tmp_path)
    if os.geteuid() == 0:
        assert code == 2 and out == "" and "sudo -u " in err and "Rien n'a été restauré" in err
        assert not (folder / "aiguillage.sqlite3").exists()
    else:  # an ordinary user restores into its own folder
        assert code == 0, err


async def test_missing_postgresql_client_is_explained(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """pg_dump/pg_restore absent from the PATH: one line naming the package, and nothing
    written or dropped (PostgreSQL pass only: it asks for the server itself)."""
    databases.attach(postgres_server)
    url = databases.url(tmp_path, "sans-client", engine=databases.POSTGRESQL)
    code, _out, err = await run("db", "upgrade", "--db", url, cwd=tmp_path)
    assert code == 0, err
    empty_path = {"PATH": str(tmp_path / "rien")}
    saved = tmp_path / "sauvegarde"
    done = await asyncio.to_thread(
        cli, "backup", str(saved), "--db", url, cwd=tmp_path, env=empty_path
    )
    err = plain(done.stderr)
    assert done.returncode == 2 and "pg_dump" in err and "apt install postgresql-client" in err
    assert not saved.exists() and not list(tmp_path.glob(".*.partial"))
    saved.mkdir()
    (saved / "manifest.json").write_text(
        json.dumps(
            {
                "format": 1,
                "created_at": "2026-12-07T03:30:00+00:00",
                "engine": "postgresql",
                "schema": HEAD,
                "database": "database.dump",
            }
        ),
        encoding="utf-8",
    )
    (saved / "database.dump").write_bytes(b"PGDMP")
    done = await asyncio.to_thread(
        cli, "restore", str(saved), "--db", url, cwd=tmp_path, env=empty_path
    )
    assert done.returncode == 2 and "pg_restore" in plain(done.stderr)
    code, out, _ = await run("db", "current", "--db", url, cwd=tmp_path)
    assert code == 0 and HEAD in out  # the tables are still there


async def test_a_damaged_backup_changes_nothing(tmp_path: Path) -> None:
    url = databases.url(tmp_path, "base.sqlite3")
    code, _out, err = await run("demo-data", "--db", url, cwd=tmp_path)
    assert code == 0, err
    saved = tmp_path / "abimee"
    code, _out, err = await run("backup", str(saved), "--db", url, cwd=tmp_path)
    assert code == 0, err
    manifest = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    (saved / manifest["database"]).write_bytes(b"pas une base " * 100)
    code, out, err = await run("restore", str(saved), "--db", url, "--force", cwd=tmp_path)
    assert code == 2 and out == "" and "illisible" in err and "rien n'a été restauré" in err
    code, out, _ = await run("db", "current", "--db", url, cwd=tmp_path)
    assert code == 0 and HEAD in out  # still the database it was
