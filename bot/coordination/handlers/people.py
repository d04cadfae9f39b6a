"""People: ``aiguilleurs``, ``aiguilleur ajouter|pause|reprendre|capacite|formation``,
``coordinateurs``, ``coordinateur ajouter|retirer`` and ``annonce``.

Scope: a coordinator limited to régions sees and acts on the aiguilleurs who
share one of them, adds coordinators within them only, and announces to those
aiguilleurs only. Coordinators of the configuration file are removed there,
not in chat. What the answers say is in dialogs/coordination/people.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.coordination.call import AdminCall
from bot.coordination.registry import handles
from dialogs.assignment.desk import Drain
from dialogs.catalog.load import AiguilleurProfile
from dialogs.coordination.access import any_in_scope
from dialogs.coordination.commands import FILTERS, REGIONS
from dialogs.coordination.people import (
    AiguilleurView,
    CoordinatorView,
    added_lines,
    aiguilleurs_lines,
    announce_result,
    announcement,
    capacity_ok,
    coordinators_lines,
    identity_msg,
    regions_msg,
    slugify,
    unique_slug,
)
from dialogs.kernel.dates import short_date
from dialogs.kernel.replies import Msg, msg
from storage.models.catalog import Aiguilleur
from storage.repos.catalog import AIGUILLEURS

# Telegram user ids fit in 52 bits; anything at 2**53 or more is a typo.
MAX_TELEGRAM_ID = 2**53


def view(row: Aiguilleur, loads: dict[str, int]) -> AiguilleurView:
    return AiguilleurView(
        id=row.id,
        name=row.name,
        themes=tuple(row.themes),
        regions=tuple(row.regions),
        capacity=row.capacity,
        load=loads.get(row.id, 0),
        available=row.available,
        trained_at=row.trained_at,
    )


async def serve_queue(call: AdminCall) -> None:
    """Someone has room again: the waiting cases may be offered (Matrix only)."""
    if call.services.desk is not None:
        await call.services.desk.apply(call.uow, (Drain(),))


async def usable_ident(call: AdminCall) -> tuple[str, str] | None:
    """The typed identity; a Telegram id too large to be one is refused here
    (the database column holds 64-bit numbers)."""
    assert call.parsed is not None and call.parsed.ident is not None
    transport, external_id = call.parsed.ident
    if transport == "telegram" and int(external_id) >= MAX_TELEGRAM_ID:
        await call.say(msg("admin.people.bad_ident", id=external_id))
        return None
    return transport, external_id


async def aiguilleur_in_scope(call: AdminCall) -> Aiguilleur | None:
    """The aiguilleur the command names, answering for the caller when there is none
    or when it is outside the coordinator's régions."""
    assert call.parsed is not None and call.parsed.slug is not None
    row = await call.uow.catalog.aiguilleur(call.parsed.slug)
    if row is None or not row.active:
        await call.not_found(msg("admin.people.unknown", slug=call.parsed.slug))
        return None
    if not any_in_scope(call.actor, row.regions):
        await call.refuse(msg("admin.people.out_of_scope", slug=row.id))
        return None
    return row


# -- aiguilleurs ------------------------------------------------------------------------


@handles("aiguilleurs")
async def list_aiguilleurs(call: AdminCall) -> None:
    assert call.parsed is not None
    loads = await call.uow.catalog.active_case_counts()
    rows = [
        row
        for row in await call.uow.catalog.active_aiguilleurs()
        if not row.demo and any_in_scope(call.actor, row.regions)
    ]
    rows.sort(key=lambda row: (row.name.lower(), row.id))
    people = [view(row, loads) for row in rows]
    await call.say(*aiguilleurs_lines(people, call.parsed.get(FILTERS), call.prefix))


@handles("aiguilleur.ajouter")
async def add_aiguilleur(call: AdminCall) -> None:
    """A catalog entry with no theme yet, paused until the person fills in the
    inscription form (which updates their own profile and makes them available)."""
    assert call.parsed is not None
    ident = await usable_ident(call)
    if ident is None:
        return
    transport, external_id = ident
    name = " ".join((call.parsed.text or "").split())
    existing = await call.uow.coordination.aiguilleur_by_identity(transport, external_id)
    if existing is not None:
        await call.say(msg("admin.people.exists", name=existing.name, slug=existing.id))
        return
    slug = unique_slug(slugify(name), set(await call.uow.catalog.ids(AIGUILLEURS)))
    # A régional network's new aiguilleur works in its régions to begin with.
    regions = tuple(sorted(call.actor.regions)) if call.actor.regions is not None else ()
    profile = AiguilleurProfile(
        id=slug,
        name=name,
        matrix_id=external_id if transport == "matrix" else "",
        telegram_id=int(external_id) if transport == "telegram" else None,
        themes=(),
        regions=regions,
        available=False,
    )
    await call.uow.catalog.save_aiguilleur(profile, call.now)
    await call.say(*added_lines(name, slug, regions, call.prefix))


@handles("aiguilleur.pause", "aiguilleur.reprendre")
async def set_available(call: AdminCall) -> None:
    assert call.parsed is not None
    row = await aiguilleur_in_scope(call)
    if row is None:
        return
    available = call.parsed.name == "aiguilleur.reprendre"
    if row.available == available:
        key = "admin.people.already_available" if available else "admin.people.already_paused"
        await call.say(msg(key, name=row.name))
        return
    await call.uow.matrix.set_available(row.id, available, call.now)
    if available:
        await serve_queue(call)
    await call.say(
        msg("admin.people.resumed" if available else "admin.people.paused_now", name=row.name)
    )


@handles("aiguilleur.capacite")
async def set_capacity(call: AdminCall) -> None:
    assert call.parsed is not None and call.parsed.number is not None
    number = call.parsed.number
    if not capacity_ok(number):
        await call.say(msg("admin.people.bad_capacity", minimum=1, maximum=20))
        return
    row = await aiguilleur_in_scope(call)
    if row is None:
        return
    more_room = number > row.capacity
    row.capacity = number
    row.updated_at = call.now
    await call.uow.session.flush()
    if more_room:
        await serve_queue(call)
    await call.say(msg("admin.people.capacity_set", name=row.name, capacity=number))


@handles("aiguilleur.formation")
async def record_training(call: AdminCall) -> None:
    row = await aiguilleur_in_scope(call)
    if row is None:
        return
    row.trained_at = call.now
    row.updated_at = call.now
    await call.say(msg("admin.people.trained_now", name=row.name, date=short_date(call.now)))


# -- coordinators ---------------------------------------------------------------------------


def configured_views(call: AdminCall) -> list[CoordinatorView]:
    config = call.services.coordinators
    return [
        *(
            CoordinatorView(transport="telegram", external_id=str(i), configured=True)
            for i in config.telegram_ids
        ),
        *(
            CoordinatorView(transport="matrix", external_id=i, configured=True)
            for i in config.matrix_ids
        ),
    ]


def is_configured(call: AdminCall, transport: str, external_id: str) -> bool:
    config = call.services.coordinators
    if transport == "telegram":
        return external_id in {str(i) for i in config.telegram_ids}
    return external_id in set(config.matrix_ids)


@handles("coordinateurs")
async def list_coordinators(call: AdminCall) -> None:
    rows = await call.uow.coordination.coordinators()
    added = [
        CoordinatorView(
            transport=row.transport,
            external_id=row.external_id,
            name=row.name,
            regions=tuple(row.regions),
        )
        for row in rows
        if not is_configured(call, row.transport, row.external_id)
    ]
    await call.say(*coordinators_lines([*configured_views(call), *added]))


async def commanded_ident(
    call: AdminCall, answer: Callable[[Msg], Awaitable[None]], configured_key: str
) -> tuple[str, str, Msg] | None:
    """The coordinator's identity typed in the command, and how to name it; None when
    it is unusable or comes from the configuration file, which commands leave alone
    (then answered with `configured_key`)."""
    ident = await usable_ident(call)
    if ident is None:
        return None
    transport, external_id = ident
    who = identity_msg(transport, external_id)
    if is_configured(call, transport, external_id):
        await answer(msg(configured_key, who=who))
        return None
    return transport, external_id, who


@handles("coordinateur.ajouter")
async def add_coordinator(call: AdminCall) -> None:
    assert call.parsed is not None
    target = await commanded_ident(call, call.say, "admin.people.coordinator.configured_already")
    if target is None:
        return
    transport, external_id, who = target
    regions: tuple[str, ...] = call.parsed.get(REGIONS)
    scope = call.actor.regions
    if scope is not None:
        # A régional coordinator shares what they have, never more.
        if not regions:
            regions = tuple(sorted(scope))
        elif not set(regions) <= scope:
            await call.refuse(msg("admin.people.coordinator.beyond_scope"))
            return
    person = await call.uow.coordination.aiguilleur_by_identity(transport, external_id)
    await call.uow.coordination.add_coordinator(
        transport=transport,
        external_id=external_id,
        name=person.name if person is not None else None,
        regions=list(regions),
        added_by=call.actor.label,
        now=call.now,
    )
    await call.say(msg("admin.people.coordinator.added", who=who, regions=regions_msg(regions)))


@handles("coordinateur.retirer")
async def remove_coordinator(call: AdminCall) -> None:
    target = await commanded_ident(call, call.refuse, "admin.people.coordinator.configured")
    if target is None:
        return
    transport, external_id, who = target
    row = await call.uow.coordination.coordinator(transport, external_id)
    if row is None:
        await call.not_found(msg("admin.people.coordinator.unknown", who=who))
        return
    scope = call.actor.regions
    if scope is not None and not (row.regions and set(row.regions) <= scope):
        await call.refuse(msg("admin.people.coordinator.beyond_scope"))
        return
    await call.uow.coordination.remove_coordinator(transport, external_id, call.now)
    await call.say(msg("admin.people.coordinator.removed", who=who))


# -- announcements ----------------------------------------------------------------------


@handles("annonce")
async def announce(call: AdminCall) -> None:
    """Each active aiguilleur in scope, in their Matrix room when they have one
    (Matrix configured), else in their Telegram chat."""
    assert call.parsed is not None and call.parsed.text is not None
    rooms = await call.uow.matrix.rooms() if call.services.desk is not None else {}
    lines = announcement(call.parsed.text, call.actor.name)
    reached = 0
    unreached: list[str] = []
    for row in await call.uow.catalog.active_aiguilleurs():
        if row.demo or not any_in_scope(call.actor, row.regions):
            continue
        room = rooms.get(row.id)
        if room is not None:
            await call.tell("matrix", room, lines)
        elif row.telegram_id is not None:
            await call.tell("telegram", str(row.telegram_id), lines)
        else:
            unreached.append(row.name)
            continue
        reached += 1
    await call.say(*announce_result(reached, unreached))
