"""CatalogRepo on SQLite and PostgreSQL: planned imports, idempotence, disabling
instead of deleting, rotation data, and the starter catalog."""

from __future__ import annotations

import dataclasses
import gc
from datetime import UTC, datetime, timedelta

from bot.catalog.service import (
    MatchIndexCache,
    load_starter_catalog,
    propose,
    starter_catalog,
)
from bot.runtime import heap
from dialogs.catalog.load import Catalog
from dialogs.catalog.matching import MatchQuery
from storage.db import Database
from tests.catalog.helpers import person, resource, seed_catalog

NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)


def ids(entries: tuple) -> list[str]:  # type: ignore[type-arg]
    return sorted(e.id for e in entries)


async def test_import_then_reimport_changes_nothing(database: Database) -> None:
    catalog = seed_catalog()
    async with database.unit() as uow:
        assert await uow.catalog.is_empty()
        plan = await uow.catalog.apply(catalog, NOW)
    assert len(plan.added) == len(catalog.resources) + len(catalog.aiguilleurs)
    async with database.unit() as uow:
        again = await uow.catalog.apply(catalog, NOW + timedelta(hours=1))
        assert again.empty
        assert not await uow.catalog.is_empty()
        assert len(await uow.catalog.active_resources()) == len(catalog.resources)


async def test_dry_run_plan_writes_nothing(database: Database) -> None:
    async with database.unit() as uow:
        plan = await uow.catalog.plan_import(seed_catalog())
    assert len(plan.added) == len(seed_catalog().resources) + len(seed_catalog().aiguilleurs)
    async with database.unit() as uow:
        assert await uow.catalog.is_empty()


async def test_changed_disabled_and_reactivated(database: Database) -> None:
    first = Catalog(
        resources=(resource("a"), resource("b"), resource("c")),
        aiguilleurs=(person("ana").profile, person("bob").profile),
    )
    async with database.unit() as uow:
        await uow.catalog.apply(first, NOW)
    second = Catalog(
        resources=(resource("a"), resource("b", summary="Nouveau résumé."), resource("d")),
        aiguilleurs=(dataclasses.replace(person("ana").profile, capacity=5),),
    )
    async with database.unit() as uow:
        plan = await uow.catalog.plan_import(second)
        assert (ids(plan.added), ids(plan.changed), ids(plan.disabled)) == (
            ["d"],
            ["ana", "b"],
            ["bob", "c"],
        )
        await uow.catalog.apply(plan, NOW)
    async with database.unit() as uow:
        assert [r.id for r in await uow.catalog.active_resources()] == ["a", "b", "d"]
        # Disabled, not deleted: the row is still there for cases that cite it.
        assert await uow.catalog.ids("resources") == ["a", "b", "c", "d"]
        assert [c.profile.id for c in await uow.catalog.candidates()] == ["ana"]
        back = await uow.catalog.plan_import(first)
        assert "c" in ids(back.changed) and "bob" in ids(back.changed)


async def test_resources_only_file_leaves_aiguilleurs_alone(database: Database) -> None:
    async with database.unit() as uow:
        await uow.catalog.apply(seed_catalog(), NOW)
    only = Catalog(resources=seed_catalog().resources[:3], sections=frozenset({"resources"}))
    async with database.unit() as uow:
        plan = await uow.catalog.plan_import(only)
        assert {e.table for e in plan.disabled} == {"resources"}
        await uow.catalog.apply(plan, NOW)
        assert len(await uow.catalog.candidates()) == len(seed_catalog().aiguilleurs)


async def test_export_then_import_is_a_no_op(database: Database) -> None:
    async with database.unit() as uow:
        await uow.catalog.apply(seed_catalog(), NOW)
    async with database.unit() as uow:
        exported = await uow.catalog.export()
        assert sorted(exported.resources, key=lambda r: r.id) == sorted(
            seed_catalog().resources, key=lambda r: r.id
        )
        assert (await uow.catalog.plan_import(exported)).empty


async def test_rotation_data_round_trips(database: Database) -> None:
    async with database.unit() as uow:
        await uow.catalog.apply(Catalog(aiguilleurs=(person("ana").profile,)), NOW)
        before = await uow.catalog.candidates()
        assert before[0].last_proposed_at is None and before[0].active_cases == 0
        assert await uow.catalog.active_case_counts() == {}
        await uow.catalog.mark_proposed(["ana", "inconnu"], NOW)
    async with database.unit() as uow:
        (candidate,) = await uow.catalog.candidates()
        assert candidate.last_proposed_at == NOW


async def test_starter_catalog_for_chat_then_run(database: Database) -> None:
    chat = await load_starter_catalog(database, include_demo_aiguilleurs=True, now=NOW)
    assert chat.resources_added == len(seed_catalog().resources)
    assert chat.demo_added == len(seed_catalog().aiguilleurs)
    async with database.unit() as uow:
        assert all(c.profile.demo for c in await uow.catalog.candidates())
    # The real bot on the same database: fictional people are switched off.
    run = await load_starter_catalog(database, include_demo_aiguilleurs=False, now=NOW)
    assert run.resources_added == 0
    assert len(run.demo_disabled) == len(seed_catalog().aiguilleurs)
    async with database.unit() as uow:
        assert await uow.catalog.candidates() == []
    # A new demo brings them back, since no real aiguilleur is active.
    again = await load_starter_catalog(database, include_demo_aiguilleurs=True, now=NOW)
    assert again.resources_added == 0 and again.demo_added == len(seed_catalog().aiguilleurs)


async def test_starter_catalog_for_run_has_no_demo_people(database: Database) -> None:
    await load_starter_catalog(database, include_demo_aiguilleurs=False, now=NOW)
    async with database.unit() as uow:
        assert await uow.catalog.candidates() == []
        assert len(await uow.catalog.active_resources()) == len(seed_catalog().resources)
    assert starter_catalog(False).aiguilleurs == ()


async def test_propose_records_rotation_and_cache_follows_imports(database: Database) -> None:
    await load_starter_catalog(database, include_demo_aiguilleurs=True, now=NOW)
    # A second specialist of gouvernance, equal to the first on every criterion
    # (same themes, same régions): only rotation can tell them apart.
    people = seed_catalog().aiguilleurs
    first_specialist = next(a for a in people if a.themes[0] == "gouvernance")
    twin = dataclasses.replace(
        first_specialist, id="jumelle-demo", name="Jumelle", matrix_id="@jumelle-demo:example.org"
    )
    async with database.unit() as uow:
        await uow.catalog.apply(
            Catalog(aiguilleurs=(*people, twin), sections=frozenset({"aiguilleurs"})), NOW
        )
    cache = MatchIndexCache()
    query = MatchQuery(text="on utilise doodle pour les réunions", themes=("gouvernance",))
    async with database.unit() as uow:
        first = await propose(uow, cache, query, NOW, limit_aiguilleurs=1)
    assert first.resources[0].id == "framadate"
    async with database.unit() as uow:
        second = await propose(uow, cache, query, NOW + timedelta(minutes=1), limit_aiguilleurs=1)
    # Rotation: two people fit equally; the second request goes to the other.
    assert first.aiguilleurs[0].id != second.aiguilleurs[0].id
    async with database.unit() as uow:
        index_before = await cache.get(uow)
        catalog = Catalog(
            resources=(*seed_catalog().resources, resource("nouveau")),
            sections=frozenset({"resources"}),
        )
        await uow.catalog.apply(catalog, NOW + timedelta(hours=1))
    async with database.unit() as uow:
        index_after = await cache.get(uow)
        assert index_after is not index_before
        assert len(index_after) == len(index_before) + 1
        assert await cache.get(uow) is index_after


async def test_the_heap_settles_after_each_index_build_only(database: Database) -> None:
    """The bot freezes its heap once a match index is built (bot/runtime/heap.py):
    after a build and after a catalog change, never on a cache hit."""
    await load_starter_catalog(database, include_demo_aiguilleurs=True, now=NOW)
    builds: list[int] = []

    def settled() -> None:
        heap.settle()
        builds.append(gc.get_freeze_count())

    cache = MatchIndexCache(on_built=settled)
    try:
        async with database.unit() as uow:
            first = await cache.get(uow)
            assert await cache.get(uow) is first
        assert len(builds) == 1 and builds[0] > 0
        async with database.unit() as uow:
            catalog = Catalog(
                resources=(*seed_catalog().resources, resource("nouveau")),
                sections=frozenset({"resources"}),
            )
            await uow.catalog.apply(catalog, NOW + timedelta(hours=1))
        async with database.unit() as uow:
            assert await cache.get(uow) is not first
        assert len(builds) == 2
    finally:
        # The rest of the test session collects as usual.
        gc.unfreeze()
