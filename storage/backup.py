"""The database side of `aiguillage backup` and `restore` (bot/backup.py runs them).

- SQLite: SQLite's online backup API copies a consistent image page by page, even
  while the bot writes (never `cp` a live WAL database). A restore copies the
  backup over the target the same way, which replaces it entirely.
- PostgreSQL: `pg_dump --format=custom` and `pg_restore`, run by this process with
  their output and input streamed through it. They never open a path themselves,
  so a root-owned backup folder or a database owned by another system user cannot
  make them fail on permissions; the password goes through the environment, never
  the command line.

Also here, because it is SQL: whether a database holds any row (a restore refuses
to overwrite one without `--force`; `aiguillage run` refuses an empty one where a
deployment is expected), a few counts to say what a backup holds, and dropping the
application's tables before a PostgreSQL restore.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, make_url

from storage.db import Database, is_sqlite

VERSION_TABLE = "alembic_version"
# Tables whose rows the migrations themselves write (the case counter at 0): a database
# fresh from `db upgrade` holds them and is still empty.
MIGRATION_ROWS = frozenset({"counters"})
# What a backup's summary counts, table by table (only tables the schema has).
COUNTED: Mapping[str, str] = {
    "cases": "SELECT count(*) FROM cases",
    "people": "SELECT count(*) FROM people",
    "conversations": "SELECT count(*) FROM conversations",
    "resources": "SELECT count(*) FROM resources WHERE active",
    "aiguilleurs": "SELECT count(*) FROM aiguilleurs WHERE active",
}


class ToolMissing(Exception):
    """A PostgreSQL client program (`pg_dump`, `pg_restore`) is not installed."""

    def __init__(self, program: str) -> None:
        super().__init__(program)
        self.program = program


class ToolFailed(Exception):
    """A PostgreSQL client program exited with an error; `detail` is its first line."""

    def __init__(self, program: str, detail: str) -> None:
        super().__init__(f"{program}: {detail}")
        self.program = program
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Inventory:
    """What a database holds: its schema revision (None: no schema), whether any
    application table has a row, and the summary counts."""

    revision: str | None
    has_rows: bool
    counts: Mapping[str, int]


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise ValueError("no SQLite file in the database URL")
    return Path(database)


# ---------------------------------------------------------------- inventory


def _inventory(connection: Connection) -> Inventory:
    names = set(inspect(connection).get_table_names())
    revision: str | None = None
    if VERSION_TABLE in names:
        revision = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    has_rows = any(
        connection.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None
        for name in sorted(names - {VERSION_TABLE, *MIGRATION_ROWS})
    )
    counts = {
        key: int(connection.execute(text(query)).scalar() or 0)
        for key, query in COUNTED.items()
        if key in names
    }
    return Inventory(revision=revision, has_rows=has_rows, counts=counts)


async def inventory(db: Database) -> Inventory:
    """Read without changing anything (no migration, no starter catalog)."""
    async with db.engine.connect() as connection:
        return await connection.run_sync(_inventory)


def sqlite_inventory(path: Path) -> Inventory:
    """The same, on a SQLite file such as a backup's copy."""
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return _inventory(connection)
    finally:
        engine.dispose()


async def drop_tables(db: Database) -> None:
    """Drop every table of the database's default schema (a PostgreSQL restore
    recreates them from the dump)."""

    def drop(connection: Connection) -> None:
        metadata = MetaData()
        metadata.reflect(connection)
        metadata.drop_all(connection)

    async with db.engine.begin() as connection:
        await connection.run_sync(drop)


# ------------------------------------------------------------------- SQLite


def copy_sqlite(source: Path, target: Path, *, immutable: bool = False) -> None:
    """A consistent copy of a SQLite file through the online backup API (what
    the writer has committed, WAL included); `target` is replaced entirely and
    left in rollback-journal mode, one self-contained file. `immutable`: the
    source is a backup, opened without creating or locking anything next to it
    (its folder may belong to someone else)."""
    if not source.is_file():
        raise FileNotFoundError(2, os.strerror(2), str(source))
    if immutable:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    else:
        src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


# --------------------------------------------------------------- PostgreSQL


def _pg_environment(url: str) -> tuple[dict[str, str], str]:
    """libpq's environment for the URL, and the database name."""
    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    host = parsed.host or parsed.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    values = {
        "PGHOST": host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGAPPNAME": "aiguillage-backup",
    }
    env.update({k: str(v) for k, v in values.items() if v})
    return env, parsed.database or ""


def pg_program(name: str) -> str:
    """`pg_dump` or `pg_restore` on the PATH (Debian's postgresql-client puts a
    wrapper in /usr/bin that picks the newest installed version)."""
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(name)
    return found


def _run_streamed(
    program: str,
    args: Sequence[str],
    env: dict[str, str],
    stdin: IO[bytes] | None,
    stdout: IO[bytes] | None,
) -> None:
    path = pg_program(program)
    completed = subprocess.run(
        [path, *args],
        env=env,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = next((line for line in lines if line.strip()), f"code {completed.returncode}")
        raise ToolFailed(program, detail[:300])


def pg_dump(url: str, out: IO[bytes]) -> None:
    """`pg_dump --format=custom` of the URL's database, written to `out`."""
    env, name = _pg_environment(url)
    _run_streamed(
        "pg_dump",
        ["--format=custom", "--no-owner", "--no-privileges", f"--dbname={name}"],
        env,
        None,
        out,
    )


def pg_restore(url: str, dump: IO[bytes]) -> None:
    """`pg_restore` of a custom-format dump read from `dump`, in one transaction,
    into the URL's database (whose tables were dropped first)."""
    env, name = _pg_environment(url)
    _run_streamed(
        "pg_restore",
        [
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={name}",
        ],
        env,
        dump,
        None,
    )


def pg_check(dump: IO[bytes]) -> None:
    """`pg_restore --list`: the dump is a readable custom-format archive (checked
    before a restore drops anything)."""
    _run_streamed("pg_restore", ["--list"], dict(os.environ), dump, None)


def sqlite_check(path: Path) -> None:
    """`PRAGMA quick_check` on a backup's copy, opened without touching its folder."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        result = connection.execute("PRAGMA quick_check").fetchone()
    finally:
        connection.close()
    if not result or result[0] != "ok":
        raise sqlite3.DatabaseError(str(result[0] if result else "quick_check"))


def engine_name(url: str) -> str:
    return "sqlite" if is_sqlite(url) else "postgresql"
