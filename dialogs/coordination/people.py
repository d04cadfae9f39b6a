"""What the coordination commands about people say: the aiguilleurs' list, the
coordinators' list, an announcement and who it reached. Pure: handlers load
the rows into the views below and send the lines.

Rules:
- A list shows 10 entries a page and says how to see the next one.
- A région filter keeps the aiguilleurs who work there, national ones (no
  région: they work everywhere) included.
- Slugs come from names: lower case, no accents, dashes; a taken one gets a
  number (``camille-durand-2``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from dialogs.coordination.commands import Filters
from dialogs.kernel.dates import short_date
from dialogs.kernel.replies import Msg, msg
from dialogs.kernel.textnorm import fold

PAGE_SIZE = 10
SLUG_MAX = 60
MIN_CAPACITY = 1
MAX_CAPACITY = 20


# -- slugs and pages ------------------------------------------------------------------


def slugify(name: str, fallback: str = "aiguilleur") -> str:
    """``Camille Durand`` → ``camille-durand`` (a catalog id)."""
    words = fold(name).split()
    slug = "-".join(words)[:SLUG_MAX].strip("-")
    return re.sub(r"-+", "-", slug) or fallback


def unique_slug(base: str, taken: Collection[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base[: SLUG_MAX - 4]}-{number}" in taken:
        number += 1
    return f"{base[: SLUG_MAX - 4]}-{number}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    number: int
    count: int  # pages in all (at least 1)
    start: int
    stop: int


def paginate(total: int, wanted: int, size: int = PAGE_SIZE) -> Page:
    """The page to show; asking past the last page shows the last one."""
    count = max(1, -(-total // size))
    number = min(max(1, wanted), count)
    start = (number - 1) * size
    return Page(number=number, count=count, start=start, stop=min(total, start + size))


def page_footer(
    page: Page, prefix: str, command: str, filters: Filters | None = None
) -> tuple[Msg, ...]:
    """The next page's command keeps the list's filters (typed as codes)."""
    if page.count <= 1:
        return ()
    if page.number < page.count:
        kept = (filters.status, filters.theme, filters.region) if filters is not None else ()
        words = " ".join((command, *(w for w in kept if w), f"page {page.number + 1}"))
        return (
            msg(
                "admin.people.page.more",
                number=page.number,
                count=page.count,
                next=f"{prefix}{words}",
            ),
        )
    return (msg("admin.people.page.last", number=page.number, count=page.count),)


# -- shared bits ---------------------------------------------------------------------------


def themes_msg(themes: Sequence[str]) -> Msg:
    if not themes:
        return msg("admin.people.no_theme")
    return msg("admin.people.list", items=tuple(msg(f"theme.{t}") for t in themes))


def regions_msg(regions: Sequence[str]) -> Msg:
    if not regions:
        return msg("admin.people.everywhere")
    return msg("admin.people.list", items=tuple(msg(f"region.{r}") for r in regions))


def identity_msg(transport: str, external_id: str) -> Msg:
    key = (
        "admin.people.identity.matrix"
        if transport == "matrix"
        else "admin.people.identity.telegram"
    )
    return msg(key, id=external_id)


# -- aiguilleurs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AiguilleurView:
    id: str
    name: str
    themes: tuple[str, ...]
    regions: tuple[str, ...]
    capacity: int
    load: int  # cases held or offered now
    available: bool
    trained_at: datetime | None = None


def matches(person: AiguilleurView, filters: Filters) -> bool:
    if filters.theme is not None and filters.theme not in person.themes:
        return False
    return not (
        filters.region is not None and person.regions and filters.region not in person.regions
    )


def aiguilleur_line(person: AiguilleurView) -> Msg:
    state = msg("admin.people.available" if person.available else "admin.people.paused")
    trained = (
        msg("admin.people.trained", date=short_date(person.trained_at))
        if person.trained_at is not None
        else msg("admin.people.untrained")
    )
    return msg(
        "admin.people.aiguilleur",
        name=person.name,
        slug=person.id,
        themes=themes_msg(person.themes),
        regions=regions_msg(person.regions),
        load=person.load,
        capacity=person.capacity,
        state=state,
        trained=trained,
    )


def aiguilleurs_lines(
    people: Sequence[AiguilleurView], filters: Filters, prefix: str
) -> tuple[Msg, ...]:
    """`people` already limited to the coordinator's régions, in display order."""
    chosen = [p for p in people if matches(p, filters)]
    if not chosen:
        return (msg("admin.people.none"),)
    page = paginate(len(chosen), filters.page)
    return (
        msg("admin.people.title", count=len(chosen)),
        *(aiguilleur_line(p) for p in chosen[page.start : page.stop]),
        *page_footer(page, prefix, "aiguilleurs", filters),
    )


def added_lines(name: str, slug: str, regions: Sequence[str], prefix: str) -> tuple[Msg, ...]:
    return (
        msg("admin.people.added", name=name, slug=slug, regions=regions_msg(regions)),
        msg("admin.people.added.next", command=f"{prefix}inscription"),
    )


def capacity_ok(number: int) -> bool:
    return MIN_CAPACITY <= number <= MAX_CAPACITY


# -- coordinators -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CoordinatorView:
    transport: str
    external_id: str
    name: str | None = None
    regions: tuple[str, ...] = ()
    # From the configuration file: national, and removable only there.
    configured: bool = False


def coordinator_line(person: CoordinatorView) -> Msg:
    who = identity_msg(person.transport, person.external_id)
    if person.name:
        who = msg("admin.people.named", name=person.name, identity=who)
    origin = msg("admin.people.from_config" if person.configured else "admin.people.from_chat")
    return msg(
        "admin.people.coordinator", who=who, regions=regions_msg(person.regions), origin=origin
    )


def coordinators_lines(people: Sequence[CoordinatorView]) -> tuple[Msg, ...]:
    if not people:
        return (msg("admin.people.coordinators.none"),)
    return (
        msg("admin.people.coordinators.title", count=len(people)),
        *(coordinator_line(p) for p in people),
    )


# -- announcements ----------------------------------------------------------------------


def announcement(text: str, sender: str | None) -> tuple[Msg, ...]:
    """What every aiguilleur receives."""
    if sender:
        return (
            msg("admin.people.announce.from", sender=sender),
            msg("admin.people.announce.text", text=text),
        )
    return (msg("admin.people.announce.title"), msg("admin.people.announce.text", text=text))


def announce_result(reached: int, unreached: Sequence[str]) -> tuple[Msg, ...]:
    lines = [msg("admin.people.announce.sent", count=reached)]
    if unreached:
        lines.append(msg("admin.people.announce.unreached", names=tuple(unreached)))
    return tuple(lines)
