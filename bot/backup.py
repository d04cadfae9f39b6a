"""`aiguillage backup DIR` and `aiguillage restore DIR`: one consistent copy of
what a deployment cannot lose, and the way back.

A backup is a folder (mode 700, files 600: it holds personal data and keys):

    manifest.json      format, date, engine, schema revision, app version, counts
    database.sqlite3   SQLite: a consistent copy through the online backup API
    database.dump      PostgreSQL: `pg_dump --format=custom`
    matrix-store/      the Matrix key store, when [matrix] is configured

It is written as `.DIR.partial` then renamed: an interrupted backup never
looks complete. A restore checks the manifest first (format, engine, a schema
this code knows), refuses a database that holds any row or an existing Matrix
store unless `--force`, restores, upgrades an older schema and says what came
back. Nothing is changed before every check has passed.

`refuse_empty_start` is the other half of not losing a deployment: a bot whose
configuration says data exists (`[bot] expect_data`, or a Matrix key store left
by an earlier run) will not start on an empty database and serve nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.cli.errors import Refused
from bot.config.load import Config
from dialogs.kernel.replies import Msg, msg
from storage import backup as store
from storage.db import Database, is_sqlite

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.dump"
MATRIX_DIR = "matrix-store"


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    format: int
    created_at: str
    engine: str
    schema: str
    app_version: str
    database: str
    matrix_store: bool
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "application": "aiguillage",
                "created_at": self.created_at,
                "engine": self.engine,
                "schema": self.schema,
                "app_version": self.app_version,
                "database": self.database,
                "matrix_store": self.matrix_store,
                "counts": dict(self.counts),
            },
            ensure_ascii=False,
            indent=2,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupReport:
    path: Path
    manifest: Manifest
    notes: tuple[Msg, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreReport:
    manifest: Manifest
    revision: str
    counts: Mapping[str, int]
    notes: tuple[Msg, ...] = ()


def app_version() -> str:
    try:
        return metadata.version("aiguillage")
    except metadata.PackageNotFoundError:
        return "inconnue"


def counts_msg(counts: Mapping[str, int]) -> Msg:
    return msg(
        "backup.counts",
        cases=counts.get("cases", 0),
        people=counts.get("people", 0),
        resources=counts.get("resources", 0),
        aiguilleurs=counts.get("aiguilleurs", 0),
    )


def os_detail(exc: OSError) -> Msg:
    from bot.cli.errors import os_error_msg

    return os_error_msg(exc)


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders created meanwhile are readable by their owner only."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


# ------------------------------------------------------------------ backup


def backup(config: Config, target: Path, now: datetime | None = None) -> BackupReport:
    now = now or datetime.now(UTC)
    url = config.database.url
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Refused(msg("backup.target_not_empty", path=str(target)))
    partial = target.parent / f".{target.name}.partial"
    notes: list[Msg] = []
    with private_files():
        try:
            if partial.exists():
                shutil.rmtree(partial)
            partial.mkdir(parents=True)
        except OSError as exc:
            raise Refused(
                msg("backup.unwritable", path=str(target), detail=os_detail(exc))
            ) from exc
        try:
            inventory, database = _backup_database(url, partial)
            if inventory.revision is None:
                raise Refused(msg("backup.no_schema"))
            matrix_store = False
            if config.matrix is not None:
                source = config.matrix.store_path
                if source.is_dir():
                    copy_store(source, partial / MATRIX_DIR)
                    matrix_store = True
                    notes.append(msg("backup.matrix.copied", path=str(source)))
                else:
                    notes.append(msg("backup.matrix.absent", path=str(source)))
            manifest = Manifest(
                format=FORMAT,
                created_at=now.astimezone(UTC).isoformat(timespec="seconds"),
                engine=store.engine_name(url),
                schema=inventory.revision,
                app_version=app_version(),
                database=database,
                matrix_store=matrix_store,
                counts=inventory.counts,
            )
            (partial / MANIFEST).write_text(manifest.to_json() + "\n", encoding="utf-8")
            if target.exists():
                target.rmdir()
            partial.rename(target)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return BackupReport(path=target, manifest=manifest, notes=tuple(notes))


def _backup_database(url: str, folder: Path) -> tuple[store.Inventory, str]:
    if is_sqlite(url):
        source = store.sqlite_path(url)
        if not source.is_file():
            raise Refused(msg("backup.no_database", path=str(source)))
        copy = folder / SQLITE_FILE
        store.copy_sqlite(source, copy)
        # The copy's own counts: they describe exactly what was saved.
        return store.sqlite_inventory(copy), SQLITE_FILE
    store.pg_program("pg_dump")  # missing: say so before anything
    inventory = asyncio.run(_inventory(url))
    with (folder / PG_FILE).open("wb") as out:
        store.pg_dump(url, out)
    return inventory, PG_FILE


async def _inventory(url: str) -> store.Inventory:
    db = Database(url)
    try:
        return await store.inventory(db)
    finally:
        await db.dispose()


def copy_store(source: Path, target: Path) -> None:
    """The Matrix key store: its SQLite files through the backup API (the bot may
    be writing), anything else as is."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        elif path.name.endswith(("-wal", "-shm", "-journal")):
            continue  # folded into the copy of their database
        elif store.is_sqlite_file(path):
            store.copy_sqlite(path, destination)
        else:
            shutil.copyfile(path, destination)


# ----------------------------------------------------------------- restore


def read_manifest(source: Path) -> Manifest:
    try:
        raw: dict[str, Any] = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except OSError as exc:
        raise Refused(msg("restore.not_a_backup", path=str(source), detail=os_detail(exc))) from exc
    except ValueError as exc:
        raise Refused(msg("restore.not_a_backup", path=str(source), detail=str(exc)[:100])) from exc
    found = raw.get("format")
    if not isinstance(found, int) or found > FORMAT:
        raise Refused(msg("restore.bad_format", path=str(source), found=str(found), known=FORMAT))
    try:
        return Manifest(
            format=found,
            created_at=str(raw["created_at"]),
            engine=str(raw["engine"]),
            schema=str(raw["schema"]),
            app_version=str(raw.get("app_version", "")),
            database=str(raw["database"]),
            matrix_store=bool(raw.get("matrix_store")),
            counts={str(k): int(v) for k, v in dict(raw.get("counts", {})).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Refused(
            msg("restore.not_a_backup", path=str(source), detail=f"manifest.json : {exc}")
        ) from exc


def known_revisions() -> tuple[str, ...]:
    """The schema revisions this code knows, oldest first."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return tuple(reversed([r.revision for r in script.walk_revisions()]))


def restore(config: Config, source: Path, force: bool) -> RestoreReport:
    url = config.database.url
    manifest = read_manifest(source)
    engine = store.engine_name(url)
    if manifest.engine != engine:
        raise Refused(msg("restore.engine_mismatch", backup=manifest.engine, target=engine))
    known = known_revisions()
    if manifest.schema not in known:
        raise Refused(
            msg(
                "restore.newer",
                schema=manifest.schema,
                head=known[-1],
                version=manifest.app_version or "?",
            )
        )
    refuse_foreign_owner(config)
    dump = source / manifest.database
    if not dump.is_file():
        raise Refused(msg("restore.not_a_backup", path=str(source), detail=manifest.database))
    if is_sqlite(url):
        from bot.app import check_sqlite_folder

        target_file = store.sqlite_path(url)
        check_sqlite_folder(config)  # a ConfigError naming [bot] data_dir
        before = store.sqlite_inventory(target_file) if target_file.exists() else None
    else:
        store.pg_program("pg_restore")  # missing: say so before changing anything
        before = asyncio.run(_inventory(url))
    if before is not None and before.has_rows and not force:
        raise Refused(msg("restore.not_empty", counts=counts_msg(before.counts)))
    notes: list[Msg] = []
    store_target = config.matrix.store_path if config.matrix is not None else None
    if (
        manifest.matrix_store
        and store_target is not None
        and store_target.exists()
        and any(store_target.iterdir())
        and not force
    ):
        raise Refused(msg("restore.matrix_not_empty", path=str(store_target)))

    # The backup's copy is sound before anything of the target is removed.
    try:
        if is_sqlite(url):
            store.sqlite_check(dump)
        else:
            with dump.open("rb") as stream:
                store.pg_check(stream)
    except (sqlite3.DatabaseError, store.ToolFailed) as exc:
        detail = exc.detail if isinstance(exc, store.ToolFailed) else str(exc)
        raise Refused(msg("restore.corrupt", path=str(dump), detail=detail[:200])) from exc
    if is_sqlite(url):
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{target_file}{suffix}").unlink(missing_ok=True)
        with private_files():
            store.copy_sqlite(dump, target_file, immutable=True)
    else:
        asyncio.run(_drop_tables(url))
        with dump.open("rb") as stream:
            store.pg_restore(url, stream)
    after = asyncio.run(_upgrade(url))
    if after.revision != manifest.schema:
        notes.append(msg("restore.upgraded", old=manifest.schema, new=str(after.revision)))

    if manifest.matrix_store:
        if store_target is None:
            notes.append(msg("restore.matrix.ignored"))
        else:
            if store_target.exists():
                shutil.rmtree(store_target)
            with private_files():
                copy_store(source / MATRIX_DIR, store_target)
            notes.append(msg("restore.matrix.restored", path=str(store_target)))
    elif store_target is not None:
        notes.append(msg("restore.matrix.none"))
    return RestoreReport(
        manifest=manifest, revision=str(after.revision), counts=after.counts, notes=tuple(notes)
    )


def refuse_foreign_owner(config: Config) -> None:
    """Root restoring into the bot's folder would leave root-owned files the bot
    cannot write: such a restore must run as the folder's owner."""
    if os.geteuid() != 0:
        return
    folders = [config.matrix.store_path.parent] if config.matrix is not None else []
    if is_sqlite(config.database.url):
        folders.append(store.sqlite_path(config.database.url).parent)
    for folder in folders:
        try:
            owner = folder.stat().st_uid
        except OSError:
            continue
        if owner != 0:
            import pwd

            try:
                name = pwd.getpwuid(owner).pw_name
            except KeyError:
                name = str(owner)
            raise Refused(msg("restore.as_root", path=str(folder), user=name))


async def _drop_tables(url: str) -> None:
    db = Database(url)
    try:
        await store.drop_tables(db)
    finally:
        await db.dispose()


async def _upgrade(url: str) -> store.Inventory:
    from storage.migrate import upgrade

    db = Database(url)
    try:
        await upgrade(db)
        return await store.inventory(db)
    finally:
        await db.dispose()


# ------------------------------------------------------- refusing to start


def expected_data(config: Config) -> Msg | None:
    """Why this configuration expects a database with data, if it does."""
    if config.expect_data:
        return msg("run.reason.expect_data")
    if config.matrix is not None:
        path = config.matrix.store_path
        if path.is_dir() and any(path.iterdir()):
            return msg("run.reason.matrix_store", path=str(path))
    return None


def refuse_empty_start(config: Config) -> None:
    """Raise `Refused` when data is expected and the database holds no row."""
    reason = expected_data(config)
    if reason is None:
        return
    url = config.database.url
    if is_sqlite(url) and not store.sqlite_path(url).exists():
        empty = True
    else:
        empty = not asyncio.run(_inventory(url)).has_rows
    if empty:
        raise Refused(msg("run.empty_database", reason=reason))
