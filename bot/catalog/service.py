"""The catalog at run time: the starter catalog, the cached match index, and
one call that proposes resources and aiguilleurs for a sheet.

`aiguillage chat` loads the starter catalog with its fictional demo
aiguilleurs; `aiguillage run` loads it without them and disables any left over
from a demo on the same database: fictional people must never be proposed to
real users.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

from dialogs.catalog.load import Catalog, parse_catalog_yaml
from dialogs.catalog.matching import AiguilleurCandidate, MatchIndex, MatchQuery, MatchResult, match
from storage.db import Database, UnitOfWork

log = logging.getLogger(__name__)


def starter_catalog_text() -> str:
    return (files("storage") / "seed" / "catalog.yaml").read_text(encoding="utf-8")


def starter_catalog(include_demo_aiguilleurs: bool) -> Catalog:
    """The bundled catalog (`storage/seed/catalog.yaml`); its aiguilleurs are all
    demo people, so without them the catalog has resources only."""
    catalog = parse_catalog_yaml(starter_catalog_text())
    if include_demo_aiguilleurs:
        return catalog
    return Catalog(resources=catalog.resources, sections=frozenset({"resources"}))


@dataclass(frozen=True, slots=True, kw_only=True)
class StarterLoad:
    resources_added: int = 0
    demo_added: int = 0
    demo_disabled: tuple[str, ...] = ()


async def load_starter_catalog(
    db: Database, include_demo_aiguilleurs: bool, now: datetime | None = None
) -> StarterLoad:
    """Import the starter resources when the resources table is empty.

    With demo aiguilleurs: also (re)activate the demo people when no real
    aiguilleur is active, so that a demonstration shows someone. Without:
    disable every demo person still active."""
    now = now or datetime.now(UTC)
    seed = parse_catalog_yaml(starter_catalog_text())
    async with db.unit() as uow:
        resources_added = 0
        if await uow.catalog.is_empty():
            only_resources = Catalog(resources=seed.resources, sections=frozenset({"resources"}))
            plan = await uow.catalog.apply(only_resources, now)
            resources_added = len(plan.added)
            log.info("starter catalog loaded: %d resources", resources_added)
        if not include_demo_aiguilleurs:
            disabled = await uow.catalog.disable_demo_aiguilleurs(now)
            if disabled:
                log.warning("demo aiguilleurs disabled: %s", ", ".join(disabled))
            return StarterLoad(resources_added=resources_added, demo_disabled=tuple(disabled))
        real = [row for row in await uow.catalog.active_aiguilleurs() if not row.demo]
        demo_added = 0
        if not real:
            demo = Catalog(
                aiguilleurs=tuple(a for a in seed.aiguilleurs if a.demo),
                sections=frozenset({"aiguilleurs"}),
            )
            # Upsert the demo people without disabling anyone else.
            plan = replace(await uow.catalog.plan_import(demo), disabled=())
            await uow.catalog.apply(plan, now)
            demo_added = len(plan.added) + len(plan.changed)
        return StarterLoad(resources_added=resources_added, demo_added=demo_added)


class MatchIndexCache:
    """The match index of the active resources, rebuilt only when an import
    changed them (`CatalogRepo.version`), even from another process. With a
    `folder` (``<data_dir>/cache``), the costly part of a rebuild is kept on
    disk for the next start (`bot.catalog.index_cache`)."""

    def __init__(
        self, folder: Path | None = None, on_built: Callable[[], None] | None = None
    ) -> None:
        self._version: tuple[int, datetime | None] | None = None
        self._index: MatchIndex | None = None
        self._folder = folder
        # Told after each (re)build: the bot settles its heap then (bot/runtime/heap.py).
        self._on_built = on_built

    async def get(self, uow: UnitOfWork) -> MatchIndex:
        version = await uow.catalog.version()
        if self._index is None or version != self._version:
            resources = await uow.catalog.active_resources()
            if self._folder is None:
                self._index = MatchIndex.build(resources)
            else:
                from bot.catalog.index_cache import build_index

                self._index = build_index(resources, self._folder)
            self._version = version
            if self._on_built is not None:
                self._on_built()
        return self._index


@dataclass(frozen=True, slots=True)
class MatchWithSources:
    """A match with what it was computed from, for callers that show it (the
    resources' names and the aiguilleurs' profiles) without asking again."""

    result: MatchResult
    index: MatchIndex
    candidates: list[AiguilleurCandidate]


async def propose(
    uow: UnitOfWork,
    cache: MatchIndexCache,
    query: MatchQuery,
    now: datetime,
    limit_aiguilleurs: int = 3,
    record: bool = True,
) -> MatchResult:
    """Match a sheet inside the caller's unit of work and, with `record`, note
    the proposed aiguilleurs for rotation (same transaction as the replies)."""
    proposal = await propose_with_sources(uow, cache, query, now, limit_aiguilleurs, record)
    return proposal.result


async def propose_with_sources(
    uow: UnitOfWork,
    cache: MatchIndexCache,
    query: MatchQuery,
    now: datetime,
    limit_aiguilleurs: int = 3,
    record: bool = True,
) -> MatchWithSources:
    """`propose`, returning the index and candidates it used as well."""
    index = await cache.get(uow)
    candidates = await uow.catalog.candidates()
    result = match(index, query, candidates, limit_aiguilleurs)
    if record and result.aiguilleurs:
        await uow.catalog.mark_proposed([p.id for p in result.aiguilleurs], now)
    return MatchWithSources(result=result, index=index, candidates=candidates)
