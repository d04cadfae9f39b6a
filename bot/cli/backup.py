"""`aiguillage backup DIR` and `aiguillage restore DIR [--force]` (bot/backup.py).

Run them as the bot's system user (`sudo -u aiguillage …` or `runuser -u
aiguillage -- …`): the database and the Matrix store are that user's. Exit
status 0 when done, 2 with one line on stderr when refused or failed (nothing
half-written: a failed backup leaves no folder, a refused restore changes nothing).
"""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.errors import Refused, os_error_msg
from bot.cli.output import Output
from bot.config.load import Config
from dialogs.kernel.i18n import translate
from dialogs.kernel.replies import Msg, msg

if TYPE_CHECKING:  # the database layer is imported when a backup command runs
    from storage.backup import ToolFailed


def add_backup_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_db_options: Callable[[argparse.ArgumentParser], None],
    loc: str,
) -> None:
    saving = commands.add_parser(
        "backup",
        help=translate(loc, "cli.backup"),
        description=translate(loc, "cli.backup.description"),
    )
    saving.add_argument("dir", metavar="DOSSIER", type=Path, help=translate(loc, "cli.backup.dir"))
    add_db_options(saving)
    restoring = commands.add_parser(
        "restore",
        help=translate(loc, "cli.restore"),
        description=translate(loc, "cli.restore.description"),
    )
    restoring.add_argument(
        "dir", metavar="DOSSIER", type=Path, help=translate(loc, "cli.restore.dir")
    )
    restoring.add_argument("--force", action="store_true", help=translate(loc, "cli.restore.force"))
    add_db_options(restoring)


def run_backup_command(args: argparse.Namespace, config: Config, locale: str) -> int:
    from bot.backup import backup, counts_msg, restore
    from storage.backup import ToolFailed, ToolMissing

    output = Output(locale)

    try:
        if args.command == "backup":
            done = backup(config, args.dir)
            for note in done.notes:
                output.out(note)
            output.out(
                msg(
                    "backup.done",
                    path=str(done.path),
                    engine=done.manifest.engine,
                    schema=done.manifest.schema,
                    counts=counts_msg(done.manifest.counts),
                )
            )
            return 0
        restored = restore(config, args.dir, force=args.force)
    except Refused as exc:
        output.err(exc.message)
        return 2
    except ToolMissing as exc:
        output.err(msg("backup.tool_missing", program=exc.program))
        return 2
    except ToolFailed as exc:
        output.err(tool_failed_msg(exc))
        return 2
    except sqlite3.Error as exc:
        output.err(msg("backup.sqlite_error", detail=str(exc)[:200]))
        return 2
    except OSError as exc:
        where = str(exc.filename) if exc.filename else str(args.dir)
        output.err(msg("backup.io_error", path=where, detail=os_error_msg(exc)))
        return 2
    for note in restored.notes:
        output.out(note)
    created = datetime.fromisoformat(restored.manifest.created_at)
    output.out(
        msg(
            "restore.done",
            path=str(args.dir),
            date=created.strftime("%Y-%m-%d %H:%M UTC"),
            engine=restored.manifest.engine,
            schema=restored.revision,
            counts=counts_msg(restored.counts),
        )
    )
    output.out(msg("restore.next"))
    return 0


def tool_failed_msg(exc: ToolFailed) -> Msg:
    """pg_dump older than the server is the usual failure: say which package fixes it."""
    if "version mismatch" in exc.detail.lower():
        return msg("backup.tool_version", program=exc.program, detail=exc.detail)
    return msg("backup.tool_failed", program=exc.program, detail=exc.detail)
