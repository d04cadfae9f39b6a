"""The optional English summary of a resource (`summary_en`): read from YAML and
CSV, checked, stored, exported, and changed by a re-import (issue 14, item 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialogs.catalog.csv_format import dump_resources_csv, parse_resources_csv
from dialogs.catalog.load import Catalog, CatalogError, dump_catalog_yaml, parse_catalog_yaml
from storage.db import Database

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)

YAML = """
resources:
  - id: framadate
    name: Framadate
    url: https://framadate.org
    summary: "Service libre pour trouver une date de réunion."
    summary_en: "A free service to find a meeting date."
    themes: [gouvernance]
    kind: outil
    license: CECILL-B
    libre: true
  - id: garradin
    name: Garradin
    url: https://garradin.eu
    summary: "Gestion d'association libre : adhésions, comptabilité."
    themes: [gestion]
    kind: outil
    license: AGPL-3.0
    libre: true
"""


def test_yaml_reads_the_english_summary_and_it_stays_optional() -> None:
    catalog = parse_catalog_yaml(YAML)
    by_id = {r.id: r for r in catalog.resources}
    assert by_id["framadate"].summary_en == "A free service to find a meeting date."
    assert by_id["garradin"].summary_en == ""
    # Dumped back: only where there is one, and the round trip is exact.
    dumped = dump_catalog_yaml(catalog)
    assert dumped.count("summary_en") == 1
    assert parse_catalog_yaml(dumped) == catalog


def test_csv_column_is_optional_and_round_trips() -> None:
    catalog = parse_catalog_yaml(YAML)
    text = dump_resources_csv(catalog.resources)
    assert text.splitlines()[0].endswith(",summary_en")
    again = parse_resources_csv(text)
    assert again.resources == catalog.resources
    header = "id,name,url,summary,themes,kind,license,libre"
    row = "x,X,https://x.org,Un outil.,gestion,outil,MIT,oui"
    assert parse_resources_csv(f"{header}\n{row}\n").resources[0].summary_en == ""


def test_too_long_english_summary_is_refused() -> None:
    long = "word " * 200
    with pytest.raises(CatalogError) as refused:
        parse_catalog_yaml(YAML.replace("A free service to find a meeting date.", long))
    assert [(i.entry, i.field) for i in refused.value.issues] == [("framadate", "summary_en")]


async def test_stored_exported_and_changed_by_a_reimport(database: Database) -> None:
    catalog = parse_catalog_yaml(YAML)
    async with database.unit() as uow:
        await uow.catalog.apply(catalog, NOW)
    async with database.unit() as uow:
        stored = {r.id: r for r in await uow.catalog.active_resources()}
        assert stored["framadate"].summary_en == "A free service to find a meeting date."
        assert stored["garradin"].summary_en == ""
        assert (await uow.catalog.export()).resources == catalog.resources
    translated = parse_catalog_yaml(
        YAML.replace(
            'comptabilité."\n', 'comptabilité."\n    summary_en: "Free association software."\n'
        )
    )
    async with database.unit() as uow:
        plan = await uow.catalog.apply(
            Catalog(resources=translated.resources, sections=frozenset({"resources"})),
            NOW + timedelta(hours=1),
        )
    assert [e.id for e in plan.changed] == ["garradin"]
    async with database.unit() as uow:
        garradin = await uow.catalog.resource("garradin")
        assert garradin is not None and garradin.summary_en == "Free association software."
