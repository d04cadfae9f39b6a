"""`aiguillage report --from DATE --to DATE --format md|csv|png [--output FILE]`
and `aiguillage demo-data [--force]`.

The report is the one coordinators get with `rapport` in chat, for every
région. Markdown and CSV go to stdout unless --output names a file; the PNG
chart needs --output. Mistakes end in one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.output import Output
from bot.config.load import Config
from bot.runtime.clock import Clock, SystemClock
from dialogs.kernel.i18n import translate
from dialogs.kernel.replies import Msg, msg

if TYPE_CHECKING:
    from bot.cli.demo_data import DemoSummary

FORMATS = ("md", "csv", "png")


def add_report_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_db_options: Callable[[argparse.ArgumentParser], None],
    loc: str,
) -> None:
    report = commands.add_parser("report", help=translate(loc, "cli.report"))
    report.add_argument(
        "--from", dest="start", metavar="DATE", help=translate(loc, "cli.report.from")
    )
    report.add_argument("--to", dest="end", metavar="DATE", help=translate(loc, "cli.report.to"))
    report.add_argument(
        "--format",
        dest="format",
        default="md",
        metavar="md|csv|png",
        help=translate(loc, "cli.report.format"),
    )
    report.add_argument(
        "--output", type=Path, metavar="FICHIER", help=translate(loc, "cli.report.output")
    )
    add_db_options(report)
    demo = commands.add_parser("demo-data", help=translate(loc, "cli.demo"))
    demo.add_argument("--force", action="store_true", help=translate(loc, "cli.demo.force"))
    add_db_options(demo)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRequest:
    start: date | None
    end: date | None
    format: str
    output: Path | None


def read_request(args: argparse.Namespace) -> ReportRequest | Msg:
    """The options, checked; a message naming the first mistake otherwise."""
    dates: dict[str, date | None] = {}
    for option, value in (("--from", args.start), ("--to", args.end)):
        try:
            dates[option] = date.fromisoformat(value) if value else None
        except ValueError:
            return msg("cli.report.bad_date", option=option, value=str(value)[:40])
    start, end = dates["--from"], dates["--to"]
    if start is not None and end is not None and start > end:
        return msg("cli.report.bad_period", start=start.isoformat(), end=end.isoformat())
    if args.format not in FORMATS:
        return msg("cli.report.bad_format", value=str(args.format)[:20])
    if args.format == "png" and args.output is None:
        return msg("cli.report.png_needs_output")
    return ReportRequest(start=start, end=end, format=args.format, output=args.output)


def run_report_command(
    args: argparse.Namespace, config: Config, locale: str, clock: Clock | None = None
) -> int:
    if args.command == "demo-data":
        return run_demo(args, config, locale, clock or SystemClock())
    request = read_request(args)
    if isinstance(request, Msg):
        return Output(locale).fail(request)
    from bot.reports.service import EmptyPeriod

    try:
        content = asyncio.run(make_report(config, request, locale, clock or SystemClock()))
    except EmptyPeriod as exc:
        period = msg("cli.report.bad_period", start=exc.start.isoformat(), end=exc.end.isoformat())
        return Output(locale).fail(period)
    if request.output is None:
        assert isinstance(content, str)  # png always has an output file
        sys.stdout.write(content)
        return 0
    try:
        if isinstance(content, bytes):
            request.output.write_bytes(content)
        else:
            request.output.write_text(content, encoding="utf-8")
    except OSError as exc:
        from bot.cli.errors import os_error_msg

        detail = os_error_msg(exc)
        where = str(request.output)
        return Output(locale).fail(msg("cli.report.write_error", path=where, detail=detail))
    Output(locale).out(msg("cli.report.written", path=str(request.output)))
    return 0


async def make_report(
    config: Config, request: ReportRequest, locale: str, clock: Clock
) -> str | bytes:
    from bot.app import open_database
    from bot.reports.service import load_report, period_of
    from dialogs.reports.render import report_csv, report_markdown

    db = await open_database(config)
    try:
        async with db.unit() as uow:
            now = clock.now()
            period = await period_of(uow, config.report, now, request.start, request.end)
            report = await load_report(uow, config.report, period, now)
    finally:
        await db.dispose()
    if request.format == "csv":
        return report_csv(report, locale)
    if request.format == "png":
        from bot.reports.chart import render_png

        return render_png(report, locale)
    return report_markdown(report, locale)


def run_demo(args: argparse.Namespace, config: Config, locale: str, clock: Clock) -> int:
    from bot.cli.demo_data import DatabaseNotEmpty

    try:
        summary = asyncio.run(fill(config, clock, bool(args.force)))
    except DatabaseNotEmpty as exc:
        return Output(locale).fail(msg("cli.demo.refused", count=exc.cases))
    Output(locale).out(
        msg(
            "cli.demo.done",
            cases=summary.cases,
            interventions=summary.interventions,
            aiguilleurs=summary.aiguilleurs,
            again=same_database_options(args),
        ),
    )
    return 0


def same_database_options(args: argparse.Namespace) -> str:
    """The options that name the database demo-data just filled, for the
    suggested `aiguillage report` (empty when it was the default one)."""
    import shlex

    if getattr(args, "db", None):
        return f" --db {shlex.quote(args.db)}"
    if getattr(args, "config", None):
        return f" --config {shlex.quote(str(args.config))}"
    return ""


async def fill(config: Config, clock: Clock, force: bool) -> DemoSummary:
    from bot.app import open_database
    from bot.cli.demo_data import fill_demo

    db = await open_database(config)
    try:
        return await fill_demo(db, clock.now(), force=force)
    finally:
        await db.dispose()
