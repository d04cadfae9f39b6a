"""``stats`` (the figures of the moment) and ``rapport [du] [au]`` (the activity
and impact report of a period, then its chart as a picture). A coordinator
scoped to régions sees their régions only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.config.reports import ReportConfig
from bot.coordination.call import MISUSED, AdminCall
from bot.coordination.registry import handles
from bot.reports.chart import render_png
from bot.reports.service import EmptyPeriod, load_report, load_stats, period_of
from dialogs.coordination.commands import PERIOD
from dialogs.kernel.replies import msg
from dialogs.reports.render import day, report_lines
from dialogs.reports.report import local_day
from dialogs.reports.stats import stats_lines

SETTINGS = "report"


def report_config(call: AdminCall) -> ReportConfig:
    found = call.services.settings.get(SETTINGS)
    return found if isinstance(found, ReportConfig) else ReportConfig()


@handles("stats")
async def show_stats(call: AdminCall) -> None:
    stats = await load_stats(call.uow, call.now, call.actor.regions)
    await call.say(*stats_lines(stats))


@handles("rapport")
async def show_report(call: AdminCall) -> None:
    assert call.parsed is not None
    start, end = call.parsed.get(PERIOD)
    config = report_config(call)
    try:
        period = await period_of(call.uow, config, call.now, start, end)
    except EmptyPeriod:
        call.outcome = MISUSED
        today = local_day(call.now)
        example = f"{call.prefix}rapport {today - timedelta(days=30)} {today}"
        await call.say(msg("report.bad_period", example=example))
        return
    report = await load_report(call.uow, config, period, call.now, call.actor.regions)
    await call.say(*report_lines(report))
    # Drawing takes a few hundred milliseconds: off the event loop.
    png = await asyncio.to_thread(render_png, report, call.locale)
    caption = msg("report.chart.caption", start=day(period.start), end=day(period.end))
    await call.file("photo", png, "rapport.png", "image/png", caption=(caption,))
