"""Catalog repository: resources and aiguilleurs in the database.

An import is planned against the database first (`plan_import`: what would be
added, changed, disabled), then applied in the caller's unit of work, so a dry
run and a real import share one code path. Rows missing from the file are made
inactive, never deleted. Never commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select, update

from dialogs.catalog.load import AiguilleurProfile, Catalog
from dialogs.catalog.load import Resource as ResourceEntry
from dialogs.catalog.matching import AiguilleurCandidate
from storage.models.assignment import OPEN_STATES, Assignment
from storage.models.catalog import Aiguilleur, Resource
from storage.session import DbSession, table_of

# What every new case's matching asks (bot/catalog/service.py), built once.
# Core columns: an ORM entity makes it an ORM statement, dearer to run.
_RESOURCES = table_of(Resource)
_VERSION = select(func.count(), func.max(_RESOURCES.c.updated_at))
# populate_existing: rows already in the session take the database's values
# (`_MARK_PROPOSED` is a Core update that leaves them as they were).
_ACTIVE_AIGUILLEURS = (
    select(Aiguilleur)
    .where(Aiguilleur.active.is_(True))
    .order_by(Aiguilleur.id)
    .execution_options(populate_existing=True)
)
_OPEN_CASE_COUNTS = (
    select(Assignment.aiguilleur_id, func.count(Assignment.id))
    .where(Assignment.state.in_(OPEN_STATES))
    .group_by(Assignment.aiguilleur_id)
)
_AIGUILLEURS = table_of(Aiguilleur)
_ASSIGNMENTS = table_of(Assignment)
# `candidates` in one Core statement: the active aiguilleurs' columns the match reads,
# each with its count of open cases (indexed on aiguilleur and state). Loading them as
# ORM objects, then the counts apart, cost several times as much per new case.
_OPEN_CASES = (
    select(func.count(_ASSIGNMENTS.c.id))
    .where(
        _ASSIGNMENTS.c.aiguilleur_id == _AIGUILLEURS.c.id,
        # Equalities, not IN: an IN list is expanded at each execution.
        or_(*(_ASSIGNMENTS.c.state == state for state in OPEN_STATES)),
    )
    .scalar_subquery()
)
_CANDIDATES = (
    select(
        *(
            _AIGUILLEURS.c[name]
            for name in (
                "id",
                "name",
                "matrix_id",
                "telegram_id",
                "themes",
                "regions",
                "capacity",
                "available",
                "demo",
                "last_proposed_at",
            )
        ),
        _OPEN_CASES.label("active_cases"),
    )
    .where(_AIGUILLEURS.c.active.is_(True))
    .order_by(_AIGUILLEURS.c.id)
)
# Core, not an ORM update (which would look for the rows among the session's
# objects to keep them in step); `_ACTIVE_AIGUILLEURS` reloads them.
_MARK_PROPOSED = (
    update(_AIGUILLEURS)
    .where(_AIGUILLEURS.c.id.in_(bindparam("ids", expanding=True)))
    .values(last_proposed_at=bindparam("now", type_=_AIGUILLEURS.c.last_proposed_at.type))
)

RESOURCES = "resources"
AIGUILLEURS = "aiguilleurs"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanEntry:
    table: str  # "resources" | "aiguilleurs"
    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportPlan:
    catalog: Catalog
    added: tuple[PlanEntry, ...] = ()
    changed: tuple[PlanEntry, ...] = ()  # different fields, or inactive made active again
    disabled: tuple[PlanEntry, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.disabled)


def resource_entry(row: Resource) -> ResourceEntry:
    return ResourceEntry(
        id=row.id,
        name=row.name,
        url=row.url,
        summary=row.summary,
        themes=tuple(row.themes),
        kind=row.kind,
        tags=tuple(row.tags),
        license=row.license,
        libre=row.libre,
        replaces=tuple(row.replaces),
        regions=tuple(row.regions),
        summary_en=row.summary_en or "",
    )


def aiguilleur_profile(row: Aiguilleur | Row[*tuple[Any, ...]]) -> AiguilleurProfile:
    return AiguilleurProfile(
        id=row.id,
        name=row.name,
        matrix_id=row.matrix_id,
        telegram_id=row.telegram_id,
        themes=tuple(row.themes),
        regions=tuple(row.regions),
        capacity=row.capacity,
        available=row.available,
        demo=row.demo,
    )


def write_resource(row: Resource, entry: ResourceEntry) -> None:
    row.name = entry.name
    row.url = entry.url
    row.summary = entry.summary
    row.themes = list(entry.themes)
    row.kind = entry.kind
    row.tags = list(entry.tags)
    row.license = entry.license
    row.libre = entry.libre
    row.replaces = list(entry.replaces)
    row.regions = list(entry.regions)
    row.summary_en = entry.summary_en or None


def write_aiguilleur(row: Aiguilleur, profile: AiguilleurProfile) -> None:
    row.name = profile.name
    row.matrix_id = profile.matrix_id
    row.telegram_id = profile.telegram_id
    row.themes = list(profile.themes)
    row.regions = list(profile.regions)
    row.capacity = profile.capacity
    row.available = profile.available
    row.demo = profile.demo


def diff(
    table: str,
    wanted: Mapping[str, object],
    rows: Mapping[str, Resource] | Mapping[str, Aiguilleur],
    as_entry: Callable[[Any], object],
) -> tuple[list[PlanEntry], list[PlanEntry], list[PlanEntry]]:
    """(added, changed, disabled) for one table; rows compare as catalog entries."""
    added: list[PlanEntry] = []
    changed: list[PlanEntry] = []
    disabled: list[PlanEntry] = []
    for key, entry in wanted.items():
        row = rows.get(key)
        if row is None:
            added.append(PlanEntry(table=table, id=key))
        elif not row.active or as_entry(row) != entry:
            changed.append(PlanEntry(table=table, id=key))
    for key, row in rows.items():
        if row.active and key not in wanted:
            disabled.append(PlanEntry(table=table, id=key))
    return added, changed, disabled


class CatalogRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def _resource_rows(self) -> dict[str, Resource]:
        rows = await self.session.scalars(select(Resource))
        return {row.id: row for row in rows}

    async def _aiguilleur_rows(self) -> dict[str, Aiguilleur]:
        rows = await self.session.scalars(select(Aiguilleur))
        return {row.id: row for row in rows}

    async def plan_import(self, catalog: Catalog) -> ImportPlan:
        """What importing `catalog` would do; writes nothing. Only the sections
        the file had are compared: a CSV of resources disables no aiguilleur."""
        added: list[PlanEntry] = []
        changed: list[PlanEntry] = []
        disabled: list[PlanEntry] = []
        if RESOURCES in catalog.sections:
            parts = diff(
                RESOURCES,
                {r.id: r for r in catalog.resources},
                await self._resource_rows(),
                resource_entry,
            )
            for bucket, found in zip((added, changed, disabled), parts, strict=True):
                bucket.extend(found)
        if AIGUILLEURS in catalog.sections:
            parts = diff(
                AIGUILLEURS,
                {a.id: a for a in catalog.aiguilleurs},
                await self._aiguilleur_rows(),
                aiguilleur_profile,
            )
            for bucket, found in zip((added, changed, disabled), parts, strict=True):
                bucket.extend(found)
        return ImportPlan(
            catalog=catalog, added=tuple(added), changed=tuple(changed), disabled=tuple(disabled)
        )

    async def apply(self, plan: ImportPlan | Catalog, now: datetime) -> ImportPlan:
        """Carry out an import (planning it first when given a catalog)."""
        if isinstance(plan, Catalog):
            plan = await self.plan_import(plan)
        touched = {(e.table, e.id) for e in (*plan.added, *plan.changed, *plan.disabled)}
        if not touched:
            return plan
        resources = await self._resource_rows()
        aiguilleurs = await self._aiguilleur_rows()
        for entry in plan.catalog.resources:
            if (RESOURCES, entry.id) in touched:
                self._put_resource(resources.get(entry.id), entry, now)
        for profile in plan.catalog.aiguilleurs:
            if (AIGUILLEURS, profile.id) in touched:
                self._put_aiguilleur(aiguilleurs.get(profile.id), profile, now)
        for gone in plan.disabled:
            target = resources.get(gone.id) if gone.table == RESOURCES else aiguilleurs.get(gone.id)
            if target is not None:
                target.active = False
                target.updated_at = now
        await self.session.flush()
        return plan

    # -- single entries (coordination commands) ---------------------------------

    async def resource(self, resource_id: str) -> Resource | None:
        return await self.session.get(Resource, resource_id)

    async def resource_names(self, ids: Sequence[str]) -> list[str]:
        """Names of these resources, in this order (unknown ids left out)."""
        rows = await self.session.execute(
            select(Resource.id, Resource.name).where(Resource.id.in_(list(ids)))
        )
        names = {rid: name for rid, name in rows.all()}
        return [names[i] for i in ids if i in names]

    async def aiguilleur(self, aiguilleur_id: str) -> Aiguilleur | None:
        """One aiguilleur of the catalog by slug (inactive and demo ones included)."""
        return await self.session.get(Aiguilleur, aiguilleur_id)

    async def save_resource(self, entry: ResourceEntry, now: datetime) -> Resource:
        """Add a resource, or overwrite and reactivate the row with its id."""
        row = self._put_resource(await self.resource(entry.id), entry, now)
        await self.session.flush()
        return row

    async def save_aiguilleur(self, profile: AiguilleurProfile, now: datetime) -> Aiguilleur:
        """Add an aiguilleur, or overwrite and reactivate the row with its id
        (their training date and rotation are kept)."""
        row = self._put_aiguilleur(await self.aiguilleur(profile.id), profile, now)
        await self.session.flush()
        return row

    def _put_resource(self, row: Resource | None, entry: ResourceEntry, now: datetime) -> Resource:
        """Overwrite and reactivate `row`, or add a new one when there is none."""
        if row is None:
            row = Resource(id=entry.id, created_at=now)
            self.session.add(row)
        write_resource(row, entry)
        row.active = True
        row.updated_at = now
        return row

    def _put_aiguilleur(
        self, row: Aiguilleur | None, profile: AiguilleurProfile, now: datetime
    ) -> Aiguilleur:
        """Overwrite and reactivate `row` (training date and rotation kept), or add a
        new one when there is none."""
        if row is None:
            row = Aiguilleur(id=profile.id, created_at=now, last_proposed_at=None)
            self.session.add(row)
        write_aiguilleur(row, profile)
        row.active = True
        row.updated_at = now
        return row

    async def active_resources(self) -> list[ResourceEntry]:
        rows = await self.session.scalars(
            select(Resource).where(Resource.active.is_(True)).order_by(Resource.id)
        )
        return [resource_entry(row) for row in rows]

    async def active_aiguilleurs(self) -> list[Aiguilleur]:
        return list(await self.session.scalars(_ACTIVE_AIGUILLEURS))

    async def candidates(self) -> list[AiguilleurCandidate]:
        """Active aiguilleurs with their load and rotation data, for `match`.
        Unavailable or full people are included: the engine filters them."""
        return [
            AiguilleurCandidate(
                profile=aiguilleur_profile(row),
                active_cases=int(row.active_cases),
                last_proposed_at=row.last_proposed_at,
            )
            for row in await self.session.execute(_CANDIDATES)
        ]

    async def active_case_counts(self) -> dict[str, int]:
        """Aiguilleur id → number of cases they currently hold: accepted ones and
        offers still waiting for an answer (so that offers in a row never exceed
        someone's capacity). See `storage.models.assignment.Assignment`."""
        result = await self.session.execute(_OPEN_CASE_COUNTS)
        return {aiguilleur: int(count) for aiguilleur, count in result.all()}

    async def mark_proposed(self, ids: Iterable[str], now: datetime) -> None:
        """Record that these aiguilleurs were just proposed (rotation)."""
        chosen = sorted(set(ids))
        if chosen:
            await self.session.execute(_MARK_PROPOSED, {"ids": chosen, "now": now})

    async def export(self) -> Catalog:
        """The active catalog, both sections."""
        return Catalog(
            resources=tuple(await self.active_resources()),
            aiguilleurs=tuple(aiguilleur_profile(row) for row in await self.active_aiguilleurs()),
        )

    async def is_empty(self) -> bool:
        """No resource rows at all (active or not): the starter catalog may load."""
        return not await self.session.scalar(select(func.count()).select_from(Resource))

    async def version(self) -> tuple[int, datetime | None]:
        """Changes whenever an import changes resources: (rows, latest update).
        Lets a long-running process rebuild its match index only when needed."""
        row = (await self.session.execute(_VERSION)).one()
        return int(row[0]), row[1]

    async def disable_demo_aiguilleurs(self, now: datetime) -> list[str]:
        """Make fictional demo people inactive; returns their ids."""
        rows = await self.session.scalars(
            select(Aiguilleur).where(Aiguilleur.demo.is_(True), Aiguilleur.active.is_(True))
        )
        ids: list[str] = []
        for row in rows:
            row.active = False
            row.updated_at = now
            ids.append(row.id)
        await self.session.flush()
        return sorted(ids)

    async def ids(self, table: str) -> Sequence[str]:
        model = Resource if table == RESOURCES else Aiguilleur
        return list(await self.session.scalars(select(model.id).order_by(model.id)))
