"""The report as chat lines (Msg), Markdown and CSV: pure functions of a
`Report` (dialogs/reports/report.py). Chat and Markdown share the catalog's
sentences (``report.*``); Markdown adds tables; CSV is one figure per row
(section, key, label, value) for a spreadsheet."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable
from datetime import date

from dialogs.kernel.render import render_msg
from dialogs.kernel.replies import Msg, msg
from dialogs.reports.report import MilestoneProgress, Report, Work

MAX_ITEMS = 12  # in one chat line; the Markdown and CSV list everything
_BOLD = re.compile(r"</?b>")
_TAG = re.compile(r"<[^>]+>")


def day(value: date) -> Msg:
    return msg("date.short", day=value.day, month=value.month, year=value.year)


def duration(minutes: int, days: bool = True) -> Msg:
    """45 min, 2 h, 1 h 30, and from two days on 3 j 4 h (a delay; time worked
    is given in hours: `days=False`)."""
    if minutes < 60:
        return msg("report.duration.minutes", minutes=minutes)
    if days and minutes >= 48 * 60:
        return msg("report.duration.days", days=minutes // 1440, hours=minutes % 1440 // 60)
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return msg("report.duration.hours", hours=hours)
    return msg("report.duration.hm", hours=hours, minutes=rest)


def worked(minutes: int) -> Msg:
    return duration(minutes, days=False)


def theme_label(theme: str) -> Msg:
    return msg(f"theme.{theme}")


def region_label(region: str | None) -> Msg:
    return msg(f"region.{region}") if region else msg("report.region.none")


def _items(pairs: Iterable[tuple[Msg, int]], limit: int = MAX_ITEMS) -> Msg | tuple[Msg, ...]:
    listed = [msg("report.item", label=label, count=count) for label, count in pairs]
    if not listed:
        return msg("report.none")
    if len(listed) > limit:
        listed = [*listed[:limit], msg("report.more", count=len(listed) - limit)]
    return tuple(listed)


def scope_line(regions: tuple[str, ...] | None) -> tuple[Msg, ...]:
    if regions is None:
        return ()
    return (msg("report.scope", regions=tuple(region_label(r) for r in regions)),)


# -- chat -----------------------------------------------------------------------------------


def report_lines(report: Report) -> tuple[Msg, ...]:
    lines = [
        msg("report.title", start=day(report.period.start), end=day(report.period.end)),
        *scope_line(report.regions),
        msg("report.cases", count=report.cases),
        msg("report.by_theme", items=_items((theme_label(t), n) for t, n in report.by_theme)),
        msg("report.by_region", items=_items((region_label(r), n) for r, n in report.by_region)),
        contact_line(report),
        msg(
            "report.verified",
            percent=report.verified_percent,
            count=report.verified,
            total=report.cases,
        ),
        *work_lines(report),
        *impact_lines(report),
        *milestone_lines(report),
    ]
    return tuple(lines)


def contact_line(report: Report) -> Msg:
    contact = report.contact
    if contact.median_minutes is None or contact.p90_minutes is None:
        return msg("report.contact_delay.none", waiting=contact.waiting)
    return msg(
        "report.contact_delay",
        median=duration(contact.median_minutes),
        p90=duration(contact.p90_minutes),
        reached=contact.reached,
        waiting=contact.waiting,
    )


def funding_items(work: Work) -> Msg | tuple[Msg, ...]:
    parts = tuple(
        msg("report.funding_item", label=msg(f"report.funding.{f}"), duration=worked(m))
        for f, m in work.by_funding
        if m
    )
    return parts or msg("report.none")


def work_lines(report: Report) -> list[Msg]:
    total = report.total
    if not total.count:
        lines = [msg("report.interventions.none")]
    else:
        lines = [
            msg("report.interventions", count=total.count, duration=worked(total.minutes)),
            msg("report.funding", items=funding_items(total)),
        ]
        lines += [
            msg("report.work_line", name=w.name, count=w.count, duration=worked(w.minutes))
            for w in report.interventions[:MAX_ITEMS]
        ]
        if len(report.interventions) > MAX_ITEMS:
            lines.append(msg("report.more", count=len(report.interventions) - MAX_ITEMS))
    if report.active:
        names = tuple(name for _, name in report.active)
        lines.append(msg("report.active", count=len(report.active), names=names))
    else:
        lines.append(msg("report.active.none"))
    return lines


def adoption_label(name: str, replaced: str | None) -> Msg:
    if replaced is None:
        return msg("report.adoption.plain", name=name)
    return msg("report.adoption.rather", name=name, replaced=replaced)


def impact_lines(report: Report) -> list[Msg]:
    impact = report.impact
    if impact.adoptions:
        items = _items((adoption_label(a.name, a.replaced), a.cases) for a in impact.adoptions)
        resources = msg("report.impact.adopted", cases=impact.adopting_cases, items=items)
    else:
        resources = msg("report.impact.adopted.none", answers=impact.resource_answers)
    return [
        msg("report.impact.title"),
        resources,
        msg(
            "report.impact.hours_freed", hours=impact.hours_per_month, answers=impact.hours_answers
        ),
        msg(
            "report.impact.new_relations",
            matches=impact.matches,
            contacts=impact.contacts,
            answers=impact.contacts_answers,
        ),
    ]


def milestone_state(state: str) -> Msg:
    return msg(f"report.milestone.{state}")


def milestone_line(progress: MilestoneProgress) -> Msg:
    return msg(
        "report.milestone",
        target=progress.target,
        months=progress.months,
        due=day(progress.due),
        count=progress.count,
        state=milestone_state(progress.state),
    )


def active_goal_line(report: Report) -> Msg:
    reached = "reached" if report.active_reached else "ongoing"
    return msg(
        "report.active_goal",
        target=report.active_goal,
        count=len(report.active),
        state=milestone_state(reached),
    )


def milestone_lines(report: Report) -> list[Msg]:
    return [
        msg("report.milestones.title", start=day(report.roadmap_start)),
        *(milestone_line(m) for m in report.milestones),
        active_goal_line(report),
    ]


# -- Markdown ---------------------------------------------------------------------------------


def _md(locale: str, message: Msg) -> str:
    """A catalog sentence as Markdown: bold kept, other tags dropped, | escaped."""
    text = _BOLD.sub("**", render_msg(locale, message))
    return html.unescape(_TAG.sub("", text))


def _cell(locale: str, value: Msg | str | int) -> str:
    text = _md(locale, value) if isinstance(value, Msg) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def col(name: str) -> Msg:
    return msg(f"report.col.{name}")


def _table(
    locale: str, header: Iterable[Msg], rows: Iterable[Iterable[Msg | str | int]]
) -> list[str]:
    names = [_cell(locale, h) for h in header]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(_cell(locale, v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def report_markdown(report: Report, locale: str) -> str:
    def heading(message: Msg) -> list[str]:
        return [f"## {_md(locale, message)}", ""]

    def bullet(message: Msg) -> str:
        return f"- {_md(locale, message)}"

    period = report.period
    title = msg("report.md.title", start=day(period.start), end=day(period.end))
    out = [f"# {_md(locale, title)}", ""]
    out += [f"_{_md(locale, line)}_" for line in scope_line(report.regions)]
    out += heading(msg("report.md.cases", count=report.cases))
    out += _table(
        locale, (col("theme"), col("cases")), ((theme_label(t), n) for t, n in report.by_theme)
    )
    out += _table(
        locale, (col("region"), col("cases")), ((region_label(r), n) for r, n in report.by_region)
    )
    out += heading(msg("report.md.followup"))
    out += [bullet(contact_line(report))]
    verified = msg(
        "report.verified",
        percent=report.verified_percent,
        count=report.verified,
        total=report.cases,
    )
    out += [bullet(verified), ""]
    out += heading(msg("report.md.interventions"))
    fundings = [f for f, _ in report.total.by_funding]
    rows = [
        (w.name, w.count, worked(w.minutes), *(worked(m) if m else "—" for _, m in w.by_funding))
        for w in (*report.interventions, report.total)
    ]
    if report.total.count:
        rows[-1] = (msg("report.total"), *rows[-1][1:])
        header = (
            col("aiguilleur"),
            col("count"),
            col("time"),
            *(msg(f"report.funding.{f}") for f in fundings),
        )
        out += _table(locale, header, rows)
    else:
        out += [bullet(msg("report.interventions.none")), ""]
    out += [bullet(work_lines(report)[-1]), ""]
    out += heading(msg("report.md.impact"))
    impact = report.impact
    if impact.adoptions:
        out += _table(
            locale,
            (col("resource"), col("replaced"), col("lieux")),
            ((a.name, a.replaced or "—", a.cases) for a in impact.adoptions),
        )
    out += [bullet(line) for line in impact_lines(report)[1:]] + [""]
    out += heading(msg("report.md.milestones", start=day(report.roadmap_start)))
    milestone_rows = [
        (
            msg("report.milestone.name", target=m.target, months=m.months),
            day(m.due),
            m.count,
            m.target,
            milestone_state(m.state),
        )
        for m in report.milestones
    ]
    header = (col("milestone"), col("due"), col("done"), col("target"), col("state"))
    out += _table(locale, header, milestone_rows)
    out += [bullet(active_goal_line(report))]
    return "\n".join(out).rstrip() + "\n"


# -- CSV ------------------------------------------------------------------------------------------


def report_csv(report: Report, locale: str) -> str:
    """section,key,label,value — keys are stable identifiers, labels translated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "key", "label", "value"))

    def row(section: str, key: str, label: Msg | str, value: object) -> None:
        text = _md(locale, label).replace("**", "") if isinstance(label, Msg) else label
        writer.writerow((section, key, text, value))

    period = report.period
    row("period", "start", "", period.start.isoformat())
    row("period", "end", "", period.end.isoformat())
    if report.regions is not None:
        row("period", "regions", "", " ".join(report.regions))
    row("cases", "total", msg("report.col.cases"), report.cases)
    for theme, count in report.by_theme:
        row("cases_by_theme", theme, theme_label(theme), count)
    for region, count in report.by_region:
        row("cases_by_region", region or "", region_label(region), count)
    contact = report.contact
    row("first_contact", "reached", "", contact.reached)
    row("first_contact", "waiting", "", contact.waiting)
    row("first_contact", "median_minutes", "", _blank(contact.median_minutes))
    row("first_contact", "p90_minutes", "", _blank(contact.p90_minutes))
    row("verified", "count", "", report.verified)
    row("verified", "percent", "", report.verified_percent)
    for work in (*report.interventions, report.total):
        slug = work.aiguilleur_id or "total"
        label: Msg | str = work.name or msg("report.total")
        row("interventions", f"{slug}.count", label, work.count)
        row("interventions", f"{slug}.minutes", label, work.minutes)
        for funding, minutes in work.by_funding:
            row("interventions", f"{slug}.{funding}_minutes", label, minutes)
    row("active_aiguilleurs", "count", "", len(report.active))
    for slug, name in report.active:
        row("active_aiguilleurs", slug, name, 1)
    impact = report.impact
    for adoption in impact.adoptions:
        key = f"{adoption.resource_id}:{adoption.replaced or ''}"
        row("adoptions", key, adoption_label(adoption.name, adoption.replaced), adoption.cases)
    row("impact", "adopting_lieux", "", impact.adopting_cases)
    row("impact", "resource_answers", "", impact.resource_answers)
    row("impact", "hours_per_month_at_least", "", impact.hours_per_month)
    row("impact", "hours_answers", "", impact.hours_answers)
    row("impact", "new_contacts_at_least", "", impact.contacts)
    row("impact", "contacts_answers", "", impact.contacts_answers)
    row("impact", "lieu_aiguilleur_matches", "", impact.matches)
    row("milestones", "start", "", report.roadmap_start.isoformat())
    for m in report.milestones:
        label = msg("report.milestone.name", target=m.target, months=m.months)
        row("milestones", f"{m.months}m.due", label, m.due.isoformat())
        row("milestones", f"{m.months}m.count", label, m.count)
        row("milestones", f"{m.months}m.target", label, m.target)
        row("milestones", f"{m.months}m.state", label, m.state)
    row("milestones", "active_aiguilleurs.count", "", len(report.active))
    row("milestones", "active_aiguilleurs.target", "", report.active_goal)
    return buffer.getvalue()


def _blank(value: int | None) -> object:
    return "" if value is None else value
