"""`aiguillage` command line. Every failure a person can cause (missing file,
broken config, refused token, unreachable database) ends in one clear line on
stderr and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bot.cli.catalog import add_catalog_commands, run_catalog_command
from bot.cli.errors import Refused, database_error_msg, os_error_msg, speak_argparse
from bot.cli.output import Output
from bot.config.load import Config, ConfigError, load_config, require_token
from dialogs.kernel.i18n import supported, translate
from dialogs.kernel.replies import Msg, msg


def cli_locale() -> str:
    return supported(os.environ.get("AIGUILLAGE_LOCALE") or os.environ.get("LANG", "fr")[:2])


def output() -> Output:
    return Output(cli_locale())


def add_db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help=translate(cli_locale(), "cli.opt.config"))
    parser.add_argument("--db", help=translate(cli_locale(), "cli.opt.db"))


def build_parser(only_match: bool = False) -> argparse.ArgumentParser:
    """Every command; with `only_match`, `catalog` and `match` alone, so that
    a cold `aiguillage match` imports none of the bot (about a second)."""
    loc = cli_locale()
    speak_argparse(loc)
    parser = argparse.ArgumentParser(
        prog="aiguillage", description=translate(loc, "cli.description")
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    if only_match:
        add_catalog_commands(commands, add_db_options, loc)
        return parser
    from bot.cli.backup import add_backup_commands
    from bot.cli.privacy import add_privacy_commands
    from bot.cli.report import add_report_commands

    add_db_options(commands.add_parser("run", help=translate(loc, "cli.run")))
    add_db_options(commands.add_parser("chat", help=translate(loc, "cli.chat")))
    db = commands.add_parser("db", help=translate(loc, "cli.db"))
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    add_db_options(db_commands.add_parser("upgrade", help=translate(loc, "cli.db.upgrade")))
    add_db_options(db_commands.add_parser("current", help=translate(loc, "cli.db.current")))
    add_catalog_commands(commands, add_db_options, loc)
    add_privacy_commands(commands, add_db_options, loc)
    add_report_commands(commands, add_db_options, loc)
    add_backup_commands(commands, add_db_options, loc)
    return parser


def config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    from_env = os.environ.get("AIGUILLAGE_CONFIG")
    if from_env:
        return Path(from_env)
    default = Path("config.toml")
    return default if default.exists() else None


QUIET_LIBRARIES = (
    "httpx",
    "httpcore",
    "telegram",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "nio",
    "peewee",
    "aiohttp",
    # APScheduler logs every wake-up of every job at INFO (thousands a day).
    "apscheduler",
    "matplotlib",
    "PIL",
)


def configure_logging(config: Config, interactive: bool = False) -> None:
    # In the terminal chat, log lines would interleave with the conversation.
    level = config.log_level
    if interactive and level != "DEBUG":
        level = "WARNING"
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL, and Telegram URLs contain the bot token.
    # Libraries log whole requests at DEBUG (chat ids, what people typed, SQL
    # parameters): only their warnings, whatever [bot] log_level says.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


async def db_upgrade(config: Config) -> None:
    from bot.app import open_database
    from storage.migrate import current_revision

    db = await open_database(config)
    try:
        output().out(msg("cli.db.upgraded", revision=str(await current_revision(db))))
    finally:
        await db.dispose()


async def prepare_catalog(config: Config, include_demo_aiguilleurs: bool) -> None:
    """The starter catalog on a fresh database; demo aiguilleurs only for `chat`."""
    from bot.app import open_database
    from bot.catalog.service import load_starter_catalog

    db = await open_database(config)
    try:
        await load_starter_catalog(db, include_demo_aiguilleurs)
    finally:
        await db.dispose()


async def db_current(config: Config) -> int:
    """The schema's revision against the code's; exit status 1 when the database
    has no schema at all (empty, or the wrong database)."""
    from storage.backup import inventory, sqlite_path
    from storage.db import Database, is_sqlite
    from storage.migrate import head_revisions

    url = config.database.url
    head = ", ".join(head_revisions())
    if is_sqlite(url) and not sqlite_path(url).exists():
        output().out(msg("cli.db.current.no_file", path=str(sqlite_path(url)), head=head))
        return 1
    db = Database(url)
    try:
        found = await inventory(db)
    finally:
        await db.dispose()
    if found.revision is None:
        output().out(msg("cli.db.current.empty", head=head))
        return 1
    output().out(msg("cli.db.current.result", revision=found.revision, head=head))
    if found.revision not in head_revisions():
        output().out(msg("cli.db.current.behind"))
    elif not found.has_rows:
        output().out(msg("cli.db.current.no_rows"))
    return 0


@contextmanager
def sole_bot_on_sqlite(config: Config) -> Iterator[None]:
    """`run` and `chat` write as a bot does: on SQLite, one such process per file
    (storage/locks.py, `SqliteLock`), refused before anything is written.
    The other commands (backup, report, privacy, catalog…) take SQLite's own
    locks, transaction by transaction, and work beside a running bot."""
    from storage.db import is_sqlite

    if not is_sqlite(config.database.url):
        yield
        return
    from bot.app import check_sqlite_folder
    from storage.backup import sqlite_path
    from storage.locks import SqliteInUse, SqliteLock

    check_sqlite_folder(config)
    lock = SqliteLock(sqlite_path(config.database.url))
    try:
        lock.acquire()
    except SqliteInUse as exc:
        raise Refused(msg("cli.sqlite_in_use", path=str(exc.path))) from exc
    try:
        yield
    finally:
        lock.release()


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(only_match=given[:1] == ["match"]).parse_args(given)
    try:
        config = load_config(config_path(args.config), db_override=args.db)
    except ConfigError as exc:
        return output().fail(msg("cli.config_error", detail=exc.message))
    for notice in config.notices:  # an old setting name: one line each, then carry on
        output().err(notice)
    configure_logging(config, interactive=args.command == "chat")
    try:
        if args.command == "run":
            from bot.app import run_bot

            require_token(config)  # before touching the database
            with sole_bot_on_sqlite(config):
                from bot.backup import refuse_empty_start

                refuse_empty_start(config)  # before the starter catalog fills it
                asyncio.run(prepare_catalog(config, include_demo_aiguilleurs=False))
                asyncio.run(run_bot(config))
        elif args.command == "chat":
            from bot.app import run_chat

            with sole_bot_on_sqlite(config):
                asyncio.run(prepare_catalog(config, include_demo_aiguilleurs=True))
                asyncio.run(run_chat(config))
        elif args.command in ("catalog", "match"):
            return run_catalog_command(args, config, cli_locale())
        elif args.command == "privacy":
            from bot.cli.privacy import run_privacy_command

            return run_privacy_command(args, config, cli_locale())
        elif args.command in ("report", "demo-data"):
            from bot.cli.report import run_report_command

            return run_report_command(args, config, cli_locale())
        elif args.command in ("backup", "restore"):
            from bot.cli.backup import run_backup_command

            return run_backup_command(args, config, cli_locale())
        elif args.command == "db" and args.db_command == "upgrade":
            asyncio.run(db_upgrade(config))
        elif args.command == "db" and args.db_command == "current":
            return asyncio.run(db_current(config))
    except ConfigError as exc:
        return output().fail(msg("cli.config_error", detail=exc.message))
    except Refused as exc:
        return output().fail(exc.message)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return output().fail(explain(exc))
    return 0


def explain(exc: Exception) -> Msg:
    from aiohttp import ClientError
    from sqlalchemy.exc import DBAPIError
    from telegram.error import InvalidToken, NetworkError

    from bot.transports.matrix.client import MatrixLoginError

    logging.getLogger("aiguillage").debug("failure", exc_info=exc)
    if isinstance(exc, InvalidToken):
        return msg("cli.invalid_token")
    if isinstance(exc, NetworkError):
        return msg("cli.network_error", detail=str(exc)[:200])
    # Only the Matrix side speaks aiohttp (Telegram goes through httpx).
    if isinstance(exc, MatrixLoginError | ClientError):
        return msg("cli.matrix_error", detail=str(exc)[:200])
    if isinstance(exc, DBAPIError):
        first = str(exc).splitlines()[0][:200]
        return database_error_msg(str(exc)) or msg("cli.database_error", detail=first)
    if isinstance(exc, OSError):
        known = database_error_msg(str(exc))
        if known is not None:
            return known
        if exc.filename:
            return msg("cli.file_error", path=str(exc.filename), detail=os_error_msg(exc))
        return msg("cli.database_error", detail=str(exc).splitlines()[0][:200])
    return msg("cli.unexpected", detail=f"{type(exc).__name__}: {str(exc)[:200]}")


if __name__ == "__main__":
    sys.exit(main())
