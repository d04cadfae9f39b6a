"""The report's chart as a PNG (matplotlib, Agg backend: no display needed).

Left: requests opened by theme in the period. Right: interventions recorded
since the roadmap's start, cumulated day by day, with each milestone's goal at
its due date — the curve must pass above the diamonds.

Only matplotlib's object API is used (a `Figure` with its own Agg canvas, no
pyplot): no global state, so it may run in a worker thread.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import TYPE_CHECKING

from dialogs.kernel.i18n import translate
from dialogs.kernel.render import html_to_plain, render_msg
from dialogs.kernel.replies import Msg, msg
from dialogs.reports.render import theme_label
from dialogs.reports.report import Report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis

WIDTH, HEIGHT, DPI = 12, 5.5, 100
BAR = "#2e7d6b"
LINE = "#1f4e79"
GOAL = "#c0504d"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _text(locale: str, message: Msg) -> str:
    return html_to_plain(render_msg(locale, message))


def render_png(report: Report, locale: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    themes, progress = figure.subplots(1, 2, width_ratios=(1, 1.3))
    period = report.period
    figure.suptitle(
        _text(locale, msg("report.md.title", start=_day(period.start), end=_day(period.end))),
        fontsize=13,
    )
    _themes(themes, report, locale)
    _progress(progress, report, locale)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _day(value: date) -> Msg:
    return msg("date.short", day=value.day, month=value.month, year=value.year)


def _themes(ax: Axes, report: Report, locale: str) -> None:
    ax.set_title(translate(locale, "report.chart.themes"))
    if not report.by_theme:
        _empty(ax, locale)
        return
    pairs = list(reversed(report.by_theme))  # largest on top
    labels = [_text(locale, theme_label(theme)) for theme, _ in pairs]
    counts = [count for _, count in pairs]
    bars = ax.barh(labels, counts, color=BAR)
    ax.bar_label(bars, padding=3)
    ax.set_xlabel(translate(locale, "report.chart.count"))
    ax.set_xlim(0, max(counts) * 1.15 + 0.5)
    _integer_ticks(ax.xaxis)


def _progress(ax: Axes, report: Report, locale: str) -> None:
    from matplotlib.dates import DateFormatter

    ax.set_title(translate(locale, "report.chart.interventions"))
    start = report.roadmap_start
    end = max([report.period.end, *(m.due for m in report.milestones)])
    days = [start] + [d for d, _ in report.cumulative] + [report.period.end]
    totals = [0] + [n for _, n in report.cumulative]
    totals.append(totals[-1])
    ax.step(
        days,  # type: ignore[arg-type]  # dates: matplotlib converts them, its stubs say float
        totals,
        where="post",
        color=LINE,
        linewidth=2.2,
        label=translate(locale, "report.chart.done"),
    )
    if report.milestones:
        # The pace the roadmap asks for: from zero at the start through each goal.
        ax.plot(
            [start, *(m.due for m in report.milestones)],  # type: ignore[arg-type]  # dates, as above
            [0, *(m.target for m in report.milestones)],
            color=GOAL,
            linestyle="--",
            linewidth=1.2,
            label=translate(locale, "report.chart.pace"),
        )
    for milestone in report.milestones:
        label = _text(
            locale,
            msg("report.chart.goal", count=milestone.target, months=milestone.months),
        )
        ax.plot(
            [milestone.due],  # type: ignore[arg-type]  # dates, as above
            [milestone.target],
            marker="D",
            markersize=9,
            color=GOAL,
            linestyle="none",
        )
        ax.annotate(
            label,
            (milestone.due, milestone.target),
            textcoords="offset points",
            xytext=(-8, 8),
            ha="right",
            fontsize=9,
            color=GOAL,
        )
    top = max([*totals, *(m.target for m in report.milestones), 1])
    ax.set_ylim(0, top * 1.2)
    ax.set_xlim(start, end + timedelta(days=7))  # type: ignore[arg-type]  # dates, as above
    # Where the period ends: the curve stops there.
    ax.axvline(report.period.end, color="#888888", linestyle=":", linewidth=1)  # type: ignore[arg-type]  # dates
    ax.set_ylabel(translate(locale, "report.chart.count"))
    _integer_ticks(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left")
    ax.xaxis.set_major_formatter(DateFormatter("%m/%Y"))
    ax.tick_params(axis="x", labelrotation=30)


def _empty(ax: Axes, locale: str) -> None:
    ax.text(
        0.5,
        0.5,
        translate(locale, "report.chart.empty"),
        ha="center",
        va="center",
        transform=ax.transAxes,
    )
    ax.set_axis_off()


def _integer_ticks(axis: Axis) -> None:
    """Whole numbers only on a count axis (its default locator is a `MaxNLocator`)."""
    from matplotlib.ticker import MaxNLocator

    locator = axis.get_major_locator()
    assert isinstance(locator, MaxNLocator), locator
    locator.set_params(integer=True)
