"""Small builders for catalog tests: a resource or an aiguilleur with defaults,
so that each test states only what its rule is about."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from dialogs.catalog.load import AiguilleurProfile, Catalog, Resource, parse_catalog_yaml
from dialogs.catalog.matching import AiguilleurCandidate

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "storage" / "seed" / "catalog.yaml"


def resource(id: str, **fields: Any) -> Resource:
    values: dict[str, Any] = {
        "name": id.replace("-", " ").title(),
        "url": f"https://{id}.example.org",
        "summary": "Une ressource pour les tiers-lieux.",
        "themes": ("numerique",),
        "kind": "outil",
        "tags": (),
        "license": "AGPL-3.0",
        "libre": True,
        "replaces": (),
        "regions": (),
    }
    values.update(fields)
    return Resource(id=id, **values)


def person(
    id: str,
    *,
    active_cases: int = 0,
    last_proposed_at: datetime | None = None,
    **fields: Any,
) -> AiguilleurCandidate:
    values: dict[str, Any] = {
        "name": id.title(),
        "matrix_id": f"@{id}:example.org",
        "themes": ("numerique",),
        "regions": (),
        "capacity": 3,
        "available": True,
    }
    values.update(fields)
    return AiguilleurCandidate(
        profile=AiguilleurProfile(id=id, **values),
        active_cases=active_cases,
        last_proposed_at=last_proposed_at,
    )


@cache
def seed_catalog() -> Catalog:
    return parse_catalog_yaml(SEED.read_text(encoding="utf-8"))
