"""`aiguillage privacy purge [--dry-run]`: the retention purge by hand (the
running bot does it every night, see bot/privacy/service.py)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from bot.cli.output import Output
from bot.config.load import Config
from bot.privacy.service import PurgeReport, purge
from bot.runtime.clock import Clock, SystemClock
from dialogs.kernel.dates import PARIS
from dialogs.kernel.i18n import translate
from dialogs.kernel.replies import Msg, msg

# Case references listed after the counts, at most.
LISTED = 50


def add_privacy_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_db_options: Callable[[argparse.ArgumentParser], None],
    loc: str,
) -> None:
    privacy = commands.add_parser("privacy", help=translate(loc, "cli.privacy"))
    actions = privacy.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    purge_parser = actions.add_parser("purge", help=translate(loc, "cli.privacy.purge"))
    purge_parser.add_argument(
        "--dry-run", action="store_true", help=translate(loc, "cli.privacy.dry_run")
    )
    add_db_options(purge_parser)


def run_privacy_command(
    args: argparse.Namespace, config: Config, locale: str, clock: Clock | None = None
) -> int:
    report = asyncio.run(run_purge(config, bool(args.dry_run), clock or SystemClock()))
    output = Output(locale)
    for line in report_lines(report):
        output.out(line)
    if report.cases:
        refs = ", ".join(report.cases[:LISTED])
        print(refs + (" …" if len(report.cases) > LISTED else ""))
    return 0


async def run_purge(config: Config, dry_run: bool, clock: Clock) -> PurgeReport:
    from bot.app import open_database

    db = await open_database(config)
    try:
        return await purge(db, clock.now(), config.privacy.retention_months, dry_run=dry_run)
    finally:
        await db.dispose()


def report_lines(report: PurgeReport) -> tuple[Msg, ...]:
    if report.cutoff is None:
        key = "cli.privacy.disabled_dry" if report.dry_run else "cli.privacy.disabled"
        return (msg(key, messages=report.messages),)
    local = report.cutoff.astimezone(PARIS)
    return (
        msg(
            "cli.privacy.would_purge" if report.dry_run else "cli.privacy.purged",
            cutoff=f"{local.day:02d}/{local.month:02d}/{local.year}",
            cases=len(report.cases),
            people=report.people,
            conversations=report.conversations,
            messages=report.messages,
        ),
    )
