"""What coordinators read about cases: the paged list (``dossiers``), a case's
sheet and timeline (``dossier``) and its nudges (``relances``). Pure: the
handlers (bot/coordination/handlers/cases.py) load rows into these views.

Rules:
- Times are shown in Europe/Paris; lists are newest first, timelines oldest
  first (the last `TIMELINE_LIMIT` events, with a count of the earlier ones).
- Every timeline kind has a readable line; a kind this version does not know
  is shown by its name rather than hidden.
- Relayed messages are shown by who, when and how long, never by their words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialogs.coordination.commands import FUNDINGS, Filters
from dialogs.coordination.interventions import duration, funding
from dialogs.intake.sheet import sheet_lines
from dialogs.kernel.dates import PARIS, short_date
from dialogs.kernel.options import CASE_STATUSES, THEMES
from dialogs.kernel.replies import Msg, Param, msg

PAGE_SIZE = 10
TIMELINE_LIMIT = 30
# Longest excerpt of a text shown on a timeline line (notes, messages).
EXCERPT = 200
# Nudge answers with a label of their own (the buttons the person pressed).
ANSWER_LABELS = {
    "lance": "followup.btn.lance",
    "cours": "followup.btn.cours",
    "pas": "followup.btn.pas",
    "aide": "followup.btn.aide",
    "plus_tard": "followup.btn.plus",
    "texte": "admin.cases.answer.texte",
    "impact": "admin.cases.answer.impact",
}
NUDGE_KINDS = ("ouverture", "demarrage", "impact")
NUDGE_STATES = ("pending", "sent", "answered", "escalated", "cancelled", "blocked")
ESCALATION_REASONS = ("help", "help_text", "silence")
# Timeline kinds with a line of their own (``admin.cases.event.<kind>``).
KNOWN_KINDS = frozenset(
    {
        "submitted",
        "message",
        "interest_added",
        "interest_removed",
        "contact_requested",
        "proposals",
        "offered",
        "accepted",
        "declined",
        "offer_expired",
        "closed",
        "returned",
        "relay_ended",
        "contacts_shared",
        "note",
        "action_verified",
        "nudge_sent",
        "nudge_answer",
        "nudge_snoozed",
        "impact",
        "escalated",
        "contact_blocked",
        "contact_unblocked",
        "coordination_reply",
        "nudge_blocked",
        "personal_data_erased",
        "queued",
        "relay_message",
        "assigned",
        "case_closed",
        "case_reopened",
        "nudges_postponed",
        "nudges_cancelled",
        "nudge_cancelled",
        "intervention",
    }
)


# -- views ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Holder:
    """Who has the case now: an offer waiting for an answer, or accepted."""

    name: str
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRow:
    ref: str
    created_at: datetime
    status: str
    lieu_name: str | None = None
    region: str | None = None
    themes: tuple[str, ...] = ()
    holder: Holder | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One `case_events` row."""

    at: datetime
    actor: str
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeRow:
    kind: str
    state: str
    due_at: datetime | None = None
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    escalated_at: datetime | None = None
    answer: str | None = None


# -- small pieces -------------------------------------------------------------------


def moment(at: datetime) -> Msg:
    local = at.astimezone(PARIS)
    return msg(
        "admin.cases.moment",
        day=local.day,
        month=local.month,
        year=local.year,
        hour=local.hour,
        minute=local.minute,
    )


def status_label(status: str) -> Msg | str:
    return msg(f"admin.cases.status.{status}") if status in CASE_STATUSES else status


def region_label(region: str | None) -> Msg:
    return msg(f"region.{region}") if region else msg("admin.cases.no_region")


def regions_label(regions: Iterable[str]) -> tuple[Msg, ...]:
    return tuple(msg(f"region.{code}") for code in sorted(regions))


def themes_label(themes: Sequence[str]) -> tuple[Msg, ...] | Msg:
    known = tuple(msg(f"theme.{t}") for t in themes if t in THEMES)
    return known or msg("admin.cases.no_theme")


def holder_label(holder: Holder | None) -> Msg:
    if holder is None:
        return msg("admin.cases.holder.none")
    state = "accepted" if holder.state == "accepted" else "offered"
    return msg(f"admin.cases.holder.{state}", name=holder.name)


def excerpt(text: object) -> str:
    value = " ".join(str(text).split())
    return value if len(value) <= EXCERPT else value[: EXCERPT - 1] + "…"


def filters_words(filters: Filters) -> str:
    """The filters as they can be typed again (ids and codes)."""
    return " ".join(w for w in (filters.status, filters.theme, filters.region) if w)


# -- dossiers ----------------------------------------------------------------------


def pages_of(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def listing_lines(
    rows: Sequence[CaseRow],
    *,
    filters: Filters,
    page: int,
    total: int,
    prefix: str,
    scope: frozenset[str] | None,
) -> tuple[Msg, ...]:
    chosen: list[Param] = []
    if filters.status:
        chosen.append(status_label(filters.status))
    if filters.theme:
        chosen.append(msg(f"theme.{filters.theme}"))
    if filters.region:
        chosen.append(region_label(filters.region))
    if chosen:
        title = msg("admin.cases.title_filtered", filters=tuple(chosen), total=total)
    else:
        title = msg("admin.cases.title", total=total)
    lines: list[Msg] = [title]
    if scope is not None:
        lines.append(msg("admin.cases.scope", regions=regions_label(scope)))
    if not rows:
        lines.append(msg("admin.cases.none"))
        return tuple(lines)
    lines.extend(case_line(row) for row in rows)
    pages = pages_of(total)
    if page < pages:
        words = " ".join(w for w in ("dossiers", filters_words(filters), f"page {page + 1}") if w)
        lines.append(
            msg("admin.cases.page_next", page=page, pages=pages, command=f"{prefix}{words}")
        )
    elif pages > 1:
        lines.append(msg("admin.cases.page", page=page, pages=pages))
    return tuple(lines)


def case_line(row: CaseRow) -> Msg:
    return msg(
        "admin.cases.line",
        ref=row.ref,
        date=short_date(row.created_at),
        status=status_label(row.status),
        lieu=row.lieu_name or msg("escalation.nolieu"),
        region=region_label(row.region),
        themes=themes_label(row.themes),
        holder=holder_label(row.holder),
    )


# -- dossier -----------------------------------------------------------------------


def case_lines(
    row: CaseRow,
    answers: Mapping[str, Any],
    person_name: str | None,
    entries: Sequence[Entry],
    names: Mapping[str, str],
) -> tuple[Msg, ...]:
    """The sheet, then the timeline."""
    return (
        msg(
            "admin.cases.sheet.title",
            ref=row.ref,
            status=status_label(row.status),
            date=short_date(row.created_at),
        ),
        msg("admin.cases.sheet.holder", holder=holder_label(row.holder)),
        msg("desk.offer.person", name=person_name or msg("desk.someone")),
        *sheet_lines(answers, third_person=True),
        *timeline_lines(entries, names),
    )


def timeline_lines(entries: Sequence[Entry], names: Mapping[str, str]) -> tuple[Msg, ...]:
    lines: list[Msg] = [msg("admin.cases.timeline.title")]
    if not entries:
        lines.append(msg("admin.cases.timeline.empty"))
        return tuple(lines)
    earlier = max(0, len(entries) - TIMELINE_LIMIT)
    if earlier == 1:
        lines.append(msg("admin.cases.timeline.earlier_one"))
    elif earlier > 1:
        lines.append(msg("admin.cases.timeline.earlier", count=earlier))
    for entry in entries[earlier:]:
        lines.append(
            msg(
                "admin.cases.timeline.line",
                when=moment(entry.at),
                who=who(entry.actor, names),
                what=event_line(entry, names),
            )
        )
    return tuple(lines)


def who(actor: str, names: Mapping[str, str]) -> Msg | str:
    """Actors are "person", "bot", an aiguilleur's slug (their own commands),
    ``aiguilleur:<slug>`` or ``coordinator:<transport>:<id>`` (coordination
    commands, `dialogs.coordination.access.Actor.label`)."""
    if actor in names:
        return names[actor]
    if actor == "person":
        return msg("admin.cases.who.person")
    if actor == "bot":
        return msg("admin.cases.who.bot")
    if actor.startswith("coordinator:"):
        return msg("admin.cases.who.coordination")
    if actor.startswith("aiguilleur:"):
        slug = actor.split(":", 1)[1]
        return names.get(slug, slug)
    return actor


def event_line(entry: Entry, names: Mapping[str, str]) -> Msg:
    data = entry.data or {}
    kind = entry.kind
    key = f"admin.cases.event.{kind}"

    def name(field_name: str) -> str:
        slug = str(data.get(field_name) or "")
        return names.get(slug, slug) or "?"

    match kind:
        case "message" | "note" | "declined" | "case_closed" | "coordination_reply":
            text = data.get("text") or data.get("reason")
            return msg(f"{key}.text", text=excerpt(text)) if text else msg(key)
        case "interest_added" | "interest_removed":
            return msg(key, resource=str(data.get("resource") or "?"))
        case "proposals":
            return msg(
                key,
                resources=tuple(str(r) for r in data.get("resources") or ())
                or msg("admin.cases.nothing"),
                aiguilleurs=tuple(names.get(str(a), str(a)) for a in data.get("aiguilleurs") or ())
                or msg("admin.cases.nothing"),
            )
        case "offered":
            return msg(key, name=name("aiguilleur"))
        case "assigned":
            if data.get("previous"):
                return msg(f"{key}.replacing", name=name("aiguilleur"), previous=name("previous"))
            return msg(key, name=name("aiguilleur"))
        case "nudge_sent" | "nudge_cancelled" | "nudge_blocked":
            return msg(key, question=nudge_kind(data.get("kind")))
        case "intervention":
            spent = duration(as_int(data.get("minutes")))
            paid = data.get("funding")
            how = funding(str(paid)) if paid in FUNDINGS else str(paid or "?")
            values: dict[str, Param] = {
                "name": name("aiguilleur"),
                "duration": spent,
                "funding": how,
            }
            if data.get("note"):
                return msg(f"{key}.text", text=excerpt(data["note"]), **values)
            return msg(key, **values)
        case "nudge_answer":
            question = nudge_kind(data.get("kind"))
            if data.get("text"):
                return msg(f"{key}.text", question=question, text=excerpt(data["text"]))
            return msg(key, question=question, answer=answer_label(data.get("answer")))
        case "nudge_snoozed":
            return msg(key, days=as_int(data.get("days")))
        case "nudges_postponed":
            count = as_int(data.get("count"))
            return msg(f"{key}.by", duration=days_label(as_int(data.get("days"))), count=count)
        case "nudges_cancelled":
            return msg(f"{key}.all", count=as_int(data.get("count")))
        case "impact":
            return msg(key, field=str(data.get("field") or "?"))
        case "escalated":
            reason = str(data.get("reason") or "")
            label = msg(f"admin.cases.reason.{reason}") if reason in ESCALATION_REASONS else reason
            return msg(f"{key}.sent", reason=label, count=as_int(data.get("recipients")))
        case "relay_message":
            return msg(key, length=as_int(data.get("length")))
        case "case_reopened":
            return msg(key, status=status_label(str(data.get("status") or "")))
        case _ if kind in KNOWN_KINDS:
            return msg(key)
    return msg("admin.cases.event.other", kind=kind)


def nudge_kind(kind: object) -> Msg | str:
    return msg(f"followup.kind.{kind}") if kind in NUDGE_KINDS else str(kind or "?")


def answer_label(answer: object) -> Msg | str:
    key = ANSWER_LABELS.get(str(answer))
    return msg(key) if key else str(answer or "?")


def days_label(days: int) -> Msg:
    return msg("admin.cases.days.one") if days == 1 else msg("admin.cases.days", days=days)


def as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- relances -----------------------------------------------------------------------


def nudge_lines(ref: str, rows: Sequence[NudgeRow], prefix: str) -> tuple[Msg, ...]:
    if not rows:
        return (msg("admin.cases.nudges.none", ref=ref),)
    lines = [msg("admin.cases.nudges.title", ref=ref)]
    for row in rows:
        lines.append(
            msg("admin.cases.nudges.line", question=nudge_kind(row.kind), state=state(row))
        )
    if any(row.state == "pending" for row in rows):
        lines.append(msg("admin.cases.nudges.hint", prefix=prefix, ref=ref))
    return tuple(lines)


def state(row: NudgeRow) -> Msg:
    if row.state not in NUDGE_STATES:
        return msg("admin.cases.nudges.other", state=row.state)
    moments = {
        "pending": row.due_at,
        "sent": row.sent_at,
        "answered": row.answered_at,
        "escalated": row.escalated_at or row.sent_at,
        "blocked": row.sent_at,
    }
    at = moments.get(row.state)
    when = moment(at) if at is not None else msg("admin.cases.undated")
    return msg(f"admin.cases.nudges.{row.state}", when=when, answer=answer_label(row.answer))
