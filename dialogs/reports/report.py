"""The activity and impact report, computed from plain rows (sans-I/O).

The storage layer (storage/repos/reports.py) loads the rows of a period, one
query per table; this module turns them into figures. Definitions, which the
coordinators' documentation (docs/rapports.md) repeats:

- A period is a range of local days (Europe/Paris), both ends included.
- Cases "opened" in the period: created in it. A case counts once for each of
  its themes (the theme table may sum to more than the total).
- First contact: the earliest timeline event among FIRST_CONTACT_KINDS — an
  aiguilleur accepted the offer, a coordinator assigned the case, or a relay
  message went through. Delay = first contact − request; only contacts made
  before the end of the period count, so a past period's report never changes.
  Median (mean of the two middle values for an even count) and 90th percentile
  (nearest rank: the smallest delay that at least 90 % of cases beat or equal).
- Verified action: an "action_verified" event before the end of the period, or
  the status action_verifiee (set by hand without an event).
- Interventions: rows recorded with their time and funding, in the period.
- Active aiguilleur: recorded an intervention in the period, or held a case
  (accepted assignment) at some moment of it.
- Impact (the follow-up's answers, dialogs/followup/steps.py): the "ressources"
  answer is free text, read against the catalog — a libre resource named in it
  is adopted, in place of the proprietary tools of its `replaces` named too
  (else of any proprietary tool named). Hours and new contacts count the LOWER
  bound of the range chosen ("1-5" h → 1 h): figures read "at least". New
  relations also count each lieu–aiguilleur pair the service put in touch.
- Milestones: interventions recorded since the roadmap's start, counted on the
  due date (start + months); "reached", "ongoing" (due date not passed yet) or
  "missed". The active-aiguilleurs goal is read on the period.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dialogs.coordination.commands import FUNDINGS
from dialogs.kernel.dates import PARIS
from dialogs.kernel.lifecycles import AssignmentState, CaseStatus
from dialogs.kernel.options import THEMES
from dialogs.kernel.textnorm import fold

FIRST_CONTACT_KINDS = ("accepted", "assigned", "relay_message")
VERIFIED_KIND = "action_verified"
VERIFIED_STATUS = CaseStatus.VERIFIED
IMPACT_KIND = "impact"
# Assignment states of someone who held the case (accepted it at some point).
HELD_STATES = (
    AssignmentState.ACCEPTED,
    AssignmentState.RETURNED,
    AssignmentState.CLOSED,
    AssignmentState.ENDED,
)
# Lower bounds of the ranges offered as buttons (dialogs/followup/steps.py HOURS, CONTACTS).
HOURS_FLOOR = {"0": 0, "1-5": 1, "5-10": 5, "10-20": 10, "20+": 20}
CONTACTS_FLOOR = {"0": 0, "1-2": 1, "3-5": 3, "5+": 5}
REACHED = "reached"
ONGOING = "ongoing"
MISSED = "missed"
MIN_NAME = 3  # shorter names or ids would match ordinary words


# -- rows (what storage loads) ------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRow:
    id: int
    ref: str
    created_at: datetime
    themes: tuple[str, ...]
    region: str | None
    status: str
    first_contact_at: datetime | None = None
    verified_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InterventionRow:
    case_id: int
    aiguilleur_id: str
    minutes: int
    funding: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentRow:
    case_id: int
    aiguilleur_id: str
    state: str
    offered_at: datetime
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImpactRow:
    """One "impact" timeline event: `field` is ressources, heures or contacts."""

    case_id: int
    at: datetime
    field: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceRow:
    id: str
    name: str
    libre: bool
    replaces: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rows:
    cases: tuple[CaseRow, ...] = ()
    # Since the roadmap's start or the period's, whichever is earlier.
    interventions: tuple[InterventionRow, ...] = ()
    assignments: tuple[AssignmentRow, ...] = ()
    impacts: tuple[ImpactRow, ...] = ()
    # Catalog slug → name (also inactive people: history keeps its names).
    aiguilleurs: Mapping[str, str] = field(default_factory=dict)
    resources: tuple[ResourceRow, ...] = ()


# -- settings ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Milestone:
    months: int
    interventions: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Roadmap:
    start: date
    milestones: tuple[Milestone, ...] = (Milestone(months=6, interventions=10),)
    active_aiguilleurs: int = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """Local days, both included."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return local_midnight(self.start)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return local_midnight(self.end + timedelta(days=1))

    def holds(self, moment: datetime) -> bool:
        return self.start_at <= moment < self.end_at


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=PARIS).astimezone(UTC)


def local_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def add_months(day: date, months: int) -> date:
    """Same day `months` later; the 31st becomes the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")


# -- the figures --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactDelay:
    reached: int  # cases with a first contact within the period
    waiting: int  # cases without one
    median_minutes: int | None = None
    p90_minutes: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Work:
    """Interventions of one aiguilleur (or of everyone: id "")."""

    aiguilleur_id: str
    name: str
    count: int
    minutes: int
    by_funding: tuple[tuple[str, int], ...]  # every funding, in FUNDINGS order


@dataclass(frozen=True, slots=True, kw_only=True)
class Adoption:
    resource_id: str
    name: str
    replaced: str | None
    cases: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Impact:
    adoptions: tuple[Adoption, ...] = ()
    adopting_cases: int = 0
    resource_answers: int = 0
    hours_per_month: int = 0
    hours_answers: int = 0
    contacts: int = 0
    contacts_answers: int = 0
    # Lieu–aiguilleur pairs put in touch (accepted assignments offered in the period).
    matches: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MilestoneProgress:
    months: int
    due: date
    target: int
    count: int
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    period: Period
    # None: every région; else the scoped coordinator's.
    regions: tuple[str, ...] | None
    cases: int
    by_theme: tuple[tuple[str, int], ...]
    by_region: tuple[tuple[str | None, int], ...]
    contact: ContactDelay
    verified: int
    interventions: tuple[Work, ...]
    total: Work
    active: tuple[tuple[str, str], ...]  # (slug, name)
    impact: Impact
    roadmap_start: date
    milestones: tuple[MilestoneProgress, ...]
    active_goal: int
    # Cumulative interventions since the roadmap's start, one point per day with some.
    cumulative: tuple[tuple[date, int], ...]

    @property
    def verified_percent(self) -> int:
        return round(100 * self.verified / self.cases) if self.cases else 0

    @property
    def active_reached(self) -> bool:
        return len(self.active) >= self.active_goal


def build_report(
    rows: Rows, period: Period, roadmap: Roadmap, regions: Iterable[str] | None = None
) -> Report:
    cases = [c for c in rows.cases if period.holds(c.created_at)]
    interventions = [i for i in rows.interventions if period.holds(i.at)]
    grouped = _by_slug(interventions)
    works = sorted(
        (_work(slug, rows.aiguilleurs.get(slug, slug), items) for slug, items in grouped.items()),
        key=lambda w: (-w.minutes, -w.count, w.name),
    )
    active = _active(interventions, rows.assignments, period)
    return Report(
        period=period,
        regions=tuple(sorted(regions)) if regions is not None else None,
        cases=len(cases),
        by_theme=_by_theme(cases),
        by_region=_by_region(cases),
        contact=_contact(cases, period),
        verified=sum(1 for c in cases if _verified(c, period)),
        interventions=tuple(works),
        total=_work("", "", interventions),
        active=tuple(sorted(((s, rows.aiguilleurs.get(s, s)) for s in active), key=lambda p: p[1])),
        impact=_impact(rows, period),
        roadmap_start=roadmap.start,
        milestones=_milestones(rows.interventions, roadmap, period),
        active_goal=roadmap.active_aiguilleurs,
        cumulative=_cumulative(rows.interventions, roadmap.start, period),
    )


def _by_theme(cases: list[CaseRow]) -> tuple[tuple[str, int], ...]:
    counts = Counter(theme for case in cases for theme in dict.fromkeys(case.themes))
    order = {theme: index for index, theme in enumerate(THEMES)}
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], order.get(item[0], 99))))


def _by_region(cases: list[CaseRow]) -> tuple[tuple[str | None, int], ...]:
    counts = Counter(case.region for case in cases)
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0] or "~")))


def _contact(cases: list[CaseRow], period: Period) -> ContactDelay:
    delays = sorted(
        max(0, round((c.first_contact_at - c.created_at).total_seconds() / 60))
        for c in cases
        if c.first_contact_at is not None and c.first_contact_at < period.end_at
    )
    if not delays:
        return ContactDelay(reached=0, waiting=len(cases))
    return ContactDelay(
        reached=len(delays),
        waiting=len(cases) - len(delays),
        median_minutes=round(statistics.median(delays)),
        p90_minutes=percentile(delays, 90),
    )


def percentile(values: list[int], rank: int) -> int:
    """Nearest-rank percentile of sorted `values`."""
    return values[max(0, math.ceil(rank / 100 * len(values)) - 1)]


def _verified(case: CaseRow, period: Period) -> bool:
    if case.verified_at is not None and case.verified_at < period.end_at:
        return True
    return case.status == VERIFIED_STATUS


def _by_slug(items: list[InterventionRow]) -> dict[str, list[InterventionRow]]:
    grouped: dict[str, list[InterventionRow]] = defaultdict(list)
    for item in items:
        grouped[item.aiguilleur_id].append(item)
    return grouped


def _work(slug: str, name: str, items: list[InterventionRow]) -> Work:
    funding = Counter[str]()
    for item in items:
        funding[item.funding] += item.minutes
    return Work(
        aiguilleur_id=slug,
        name=name,
        count=len(items),
        minutes=sum(i.minutes for i in items),
        by_funding=tuple((f, funding.get(f, 0)) for f in FUNDINGS),
    )


def _active(
    interventions: list[InterventionRow], assignments: tuple[AssignmentRow, ...], period: Period
) -> set[str]:
    active = {i.aiguilleur_id for i in interventions}
    for row in assignments:
        if row.state not in HELD_STATES or row.offered_at >= period.end_at:
            continue
        released = row.decided_at if row.state != "accepted" else None
        if released is None or released >= period.start_at:
            active.add(row.aiguilleur_id)
    return active


# -- impact -------------------------------------------------------------------------------


def _latest_answers(
    impacts: Iterable[ImpactRow], period: Period
) -> dict[tuple[int, str], ImpactRow]:
    latest: dict[tuple[int, str], ImpactRow] = {}
    for row in sorted(impacts, key=lambda r: r.at):
        if period.holds(row.at):
            latest[(row.case_id, row.field)] = row
    return latest


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value >= 0 else None


def _impact(rows: Rows, period: Period) -> Impact:
    answers = _latest_answers(rows.impacts, period)
    adoptions: Counter[tuple[str, str | None]] = Counter()
    adopting: set[int] = set()
    resource_answers = hours = hours_answers = contacts = contacts_answers = 0
    reader = AdoptionReader(rows.resources)
    names = {r.id: r.name for r in rows.resources}
    for (case_id, name), row in answers.items():
        if name == "ressources" and isinstance(row.data.get("text"), str):
            resource_answers += 1
            found = reader.read(row.data["text"])
            adoptions.update(set(found))
            if found:
                adopting.add(case_id)
        elif name == "heures":
            value = HOURS_FLOOR.get(str(row.data.get("range")), _number(row.data.get("value")))
            if value is not None:
                hours += math.floor(value)
                hours_answers += 1
        elif name == "contacts":
            value = CONTACTS_FLOOR.get(str(row.data.get("range")), _number(row.data.get("value")))
            if value is not None:
                contacts += math.floor(value)
                contacts_answers += 1
    pairs = {
        (a.case_id, a.aiguilleur_id)
        for a in rows.assignments
        if a.state in HELD_STATES and period.holds(a.offered_at)
    }
    listed = tuple(
        sorted(
            (
                Adoption(resource_id=rid, name=names[rid], replaced=tool, cases=count)
                for (rid, tool), count in adoptions.items()
            ),
            key=lambda a: (-a.cases, fold(a.name), a.replaced or ""),
        )
    )
    return Impact(
        adoptions=listed,
        adopting_cases=len(adopting),
        resource_answers=resource_answers,
        hours_per_month=hours,
        hours_answers=hours_answers,
        contacts=contacts,
        contacts_answers=contacts_answers,
        matches=len(pairs),
    )


class AdoptionReader:
    """Which libre resources a free-text answer names, and what they replaced."""

    def __init__(self, resources: Iterable[ResourceRow]) -> None:
        self.libre: list[tuple[ResourceRow, tuple[str, ...]]] = []
        proprietary: dict[str, str] = {}
        for resource in resources:
            for tool in resource.replaces:
                if len(fold(tool)) >= MIN_NAME:
                    proprietary.setdefault(fold(tool), tool)
            if not resource.libre:
                continue
            keys = {fold(resource.name), fold(resource.id.replace("-", " "))}
            for cut in (" – ", " - ", " ("):
                keys.add(fold(resource.name.split(cut, 1)[0]))
            self.libre.append((resource, tuple(k for k in keys if len(k) >= MIN_NAME)))
        self.proprietary = proprietary

    def read(self, text: str) -> list[tuple[str, str | None]]:
        """(resource id, tool replaced or None) for each libre resource named.
        A resource's own `replaces` named in the text come first; tools named
        but claimed by none go to the one resource without its own, if it is
        alone (with two such resources, nobody can tell which replaced what)."""
        folded = f" {fold(text)} "
        named = [tool for key, tool in self.proprietary.items() if f" {key} " in folded]
        adopted: list[tuple[ResourceRow, list[str]]] = []
        for resource, keys in self.libre:
            if any(f" {key} " in folded for key in keys):
                own = [t for t in resource.replaces if f" {fold(t)} " in folded]
                adopted.append((resource, own))
        claimed = {fold(t) for _, own in adopted for t in own}
        left = [t for t in named if fold(t) not in claimed]
        bare = [resource for resource, own in adopted if not own]
        found: list[tuple[str, str | None]] = []
        for resource, own in adopted:
            tools: list[str | None] = [*own]
            if not own and len(bare) == 1:
                tools = [*left]
            found.extend((resource.id, tool) for tool in tools or [None])
        return found


# -- milestones -----------------------------------------------------------------------------


def _milestones(
    interventions: tuple[InterventionRow, ...], roadmap: Roadmap, period: Period
) -> tuple[MilestoneProgress, ...]:
    begun = local_midnight(roadmap.start)
    progress = []
    for milestone in roadmap.milestones:
        due = add_months(roadmap.start, milestone.months)
        until = min(local_midnight(due), period.end_at)
        count = sum(1 for i in interventions if begun <= i.at < until)
        if count >= milestone.interventions:
            state = REACHED
        elif period.end_at >= local_midnight(due):
            state = MISSED
        else:
            state = ONGOING
        progress.append(
            MilestoneProgress(
                months=milestone.months,
                due=due,
                target=milestone.interventions,
                count=count,
                state=state,
            )
        )
    return tuple(progress)


def _cumulative(
    interventions: tuple[InterventionRow, ...], start: date, period: Period
) -> tuple[tuple[date, int], ...]:
    begun = local_midnight(start)
    days = Counter(local_day(i.at) for i in interventions if begun <= i.at < period.end_at)
    total = 0
    points = []
    for day in sorted(days):
        total += days[day]
        points.append((day, total))
    return tuple(points)
