"""Catalog files: accepted whole or refused whole, every problem named by entry,
field and line."""

from __future__ import annotations

import pytest

from dialogs.catalog.csv_format import dump_resources_csv
from dialogs.catalog.load import (
    Catalog,
    CatalogError,
    CatalogIssue,
    dump_catalog_yaml,
    parse_catalog_file,
    parse_catalog_yaml,
    parse_resources_csv,
)
from dialogs.geo.places import region_codes
from dialogs.kernel.options import THEMES
from tests.catalog.helpers import SEED, resource, seed_catalog

GOOD = """\
resources:
  - id: framadate
    name: Framadate
    url: https://framadate.org
    summary: "Sondage de dates libre."
    themes: [gouvernance]
    kind: outil
    tags: [sondage, date]
    license: CECILL-B
    libre: true
    replaces: [Doodle]
    regions: []
aiguilleurs:
  - id: ana
    name: Ana
    matrix_id: "@ana:example.org"
    telegram_id: 12345
    themes: [gouvernance]
    regions: [BRE, 974]
    capacity: 2
    available: true
"""


def issues_of(text: str) -> list[CatalogIssue]:
    with pytest.raises(CatalogError) as info:
        parse_catalog_yaml(text)
    return info.value.issues


def found(issues: list[CatalogIssue]) -> set[tuple[str, str, int | None, str]]:
    return {(i.entry, i.field, i.line, i.message.key) for i in issues}


def test_seed_catalog_is_valid_and_big_enough() -> None:
    catalog = seed_catalog()
    assert len(catalog.resources) >= 80
    assert all(a.demo for a in catalog.aiguilleurs)
    assert all(a.matrix_id.endswith(":example.org") for a in catalog.aiguilleurs)
    assert {r for a in catalog.aiguilleurs for r in a.regions} <= set(region_codes())
    # "974" stays a string, as région codes must.
    assert any("974" in a.regions for a in catalog.aiguilleurs)


def test_good_file_parses_with_unquoted_numeric_region() -> None:
    catalog = parse_catalog_yaml(GOOD)
    assert [r.id for r in catalog.resources] == ["framadate"]
    assert catalog.resources[0].replaces == ("Doodle",)
    assert catalog.aiguilleurs[0].regions == ("BRE", "974")
    assert catalog.aiguilleurs[0].telegram_id == 12345
    assert catalog.sections == frozenset({"resources", "aiguilleurs"})


def test_each_problem_names_entry_field_and_line() -> None:
    text = GOOD.replace("url: https://framadate.org", "url: framadate point org").replace(
        "kind: outil", "kind: logiciel"
    )
    assert found(issues_of(text)) == {
        ("framadate", "url", 4, "catalog.bad_url"),
        ("framadate", "kind", 7, "catalog.unknown_kind"),
    }


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("id: framadate", "id: Frama_Date", ("resources[0]", "id", 2, "catalog.bad_slug")),
        (
            'summary: "Sondage de dates libre."',
            'summary: "  "',
            ("framadate", "summary", 5, "catalog.empty"),
        ),
        (
            "themes: [gouvernance]\n    kind",
            "themes: [sport]\n    kind",
            ("framadate", "themes", 6, "catalog.unknown_theme"),
        ),
        (
            "themes: [gouvernance]\n    kind",
            "themes: []\n    kind",
            ("framadate", "themes", 6, "catalog.no_theme"),
        ),
        (
            "license: CECILL-B",
            "license: GPL v3",
            ("framadate", "license", 9, "catalog.bad_license"),
        ),
        ("libre: true", "libre: peut-etre", ("framadate", "libre", 10, "catalog.wrong_type")),
        ("tags: [sondage, date]", "tags: sondage", ("framadate", "tags", 8, "catalog.wrong_type")),
        ("regions: []", "regions: [XYZ]", ("framadate", "regions", 12, "catalog.unknown_region")),
        ("capacity: 2", "capacity: -1", ("ana", "capacity", 20, "catalog.bad_capacity")),
        (
            'matrix_id: "@ana:example.org"',
            "matrix_id: ana",
            ("ana", "matrix_id", 16, "catalog.bad_matrix_id"),
        ),
        (
            "    regions: []\n",
            "    regions: []\n    color: blue\n",
            ("framadate", "color", 13, "catalog.unknown_field"),
        ),
        ("    kind: outil\n", "", ("framadate", "kind", 2, "catalog.missing_field")),
    ],
)
def test_single_problems(old: str, new: str, expected: tuple[str, str, int, str]) -> None:
    assert old in GOOD
    assert found(issues_of(GOOD.replace(old, new, 1))) == {expected}


def test_duplicate_ids_name_the_first_line() -> None:
    text = GOOD.replace(
        "aiguilleurs:", GOOD.split("\n", 1)[1].split("aiguilleurs:")[0] + "aiguilleurs:"
    )
    issues = issues_of(text)
    assert [(i.entry, i.field, i.line, i.message.key) for i in issues] == [
        ("framadate", "id", 13, "catalog.duplicate_id")
    ]
    assert issues[0].message.params["first"] == 2


def test_all_problems_at_once_in_file_order() -> None:
    text = GOOD.replace("url: https://framadate.org", "url: nope").replace(
        "capacity: 2", "capacity: -3"
    )
    issues = issues_of(text)
    assert [i.line for i in issues] == sorted(i.line or 0 for i in issues)
    assert {i.field for i in issues} == {"url", "capacity"}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("resources: [\n", "catalog.not_yaml"),
        ("- a\n- b\n", "catalog.not_a_mapping"),
        ("", "catalog.not_a_mapping"),
        ("resources: 3\n", "catalog.not_a_list"),
        ("ressources: []\n", "catalog.unknown_section"),
        ("resources:\n  - just a string\n", "catalog.not_an_entry"),
    ],
)
def test_file_level_problems(text: str, key: str) -> None:
    assert [i.message.key for i in issues_of(text)] == [key]


def test_not_yaml_gives_the_line() -> None:
    issues = issues_of("resources:\n  - id: a\n    name: [unclosed\n")
    assert issues[0].line is not None and issues[0].line >= 3


def test_bad_encoding_and_extension() -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog_file("c.yaml", "resources:\n  - id: é".encode("latin-1"))
    assert info.value.issues[0].message.key == "catalog.bad_encoding"
    assert info.value.issues[0].line == 2
    with pytest.raises(CatalogError) as info:
        parse_catalog_file("c.json", b"{}")
    assert info.value.issues[0].message.key == "catalog.bad_extension"


def test_yaml_round_trip_of_the_seed() -> None:
    catalog = seed_catalog()
    again = parse_catalog_yaml(dump_catalog_yaml(catalog))
    assert again == catalog


def test_only_the_sections_present_are_reported() -> None:
    catalog = parse_catalog_yaml(GOOD.split("aiguilleurs:")[0])
    assert catalog.sections == frozenset({"resources"})
    assert "aiguilleurs" not in dump_catalog_yaml(catalog)


# ------------------------------------------------------------------- CSV

CSV_HEADER = "id,name,url,summary,themes,kind,tags,license,libre,replaces,regions\n"


def test_csv_with_commas_and_lists() -> None:
    text = (
        CSV_HEADER
        + 'framadate,Framadate,https://framadate.org,"Sondages, dates.",gouvernance;numerique,'
        + 'outil,"sondage, date",CECILL-B,oui,Doodle,\n'
    )
    (r,) = parse_resources_csv(text).resources
    assert r.summary == "Sondages, dates."
    assert r.themes == ("gouvernance", "numerique")
    assert r.tags == ("sondage", "date")
    assert r.libre is True and r.regions == ()


def test_csv_french_spreadsheet_semicolons_and_bom() -> None:
    text = CSV_HEADER.replace(",", ";") + (
        "taranis;Taranis;https://taranis.example;Réseau breton.;energie;communaute;"
        '"solaire, citoyen";inconnue;vrai;;BRE\n'
    )
    catalog = parse_catalog_file("r.csv", ("\ufeff" + text).encode("utf-8"))
    assert catalog.resources[0].regions == ("BRE",)
    assert catalog.sections == frozenset({"resources"})


def test_csv_errors_name_the_row_line() -> None:
    text = (
        CSV_HEADER
        + "a,A,https://a.org,Bien.,numerique,outil,,MIT,true,,\n"
        + "b,B,pas-une-url,Bien.,numerique,outil,,MIT,peut-etre,,\n"
    )
    with pytest.raises(CatalogError) as info:
        parse_resources_csv(text)
    assert found(info.value.issues) == {
        ("b", "url", 3, "catalog.bad_url"),
        ("b", "libre", 3, "catalog.wrong_type"),
    }


def test_csv_header_problems() -> None:
    with pytest.raises(CatalogError) as info:
        parse_resources_csv("id,name,colour\n")
    keys = {(i.field, i.message.key) for i in info.value.issues}
    assert ("colour", "catalog.csv_unknown_column") in keys
    assert ("url", "catalog.csv_missing_column") in keys


def test_csv_round_trip_of_the_seed() -> None:
    resources = seed_catalog().resources
    assert parse_resources_csv(dump_resources_csv(resources)).resources == resources


def test_catalog_defaults_are_consistent() -> None:
    r = resource("x")
    assert Catalog(resources=(r,)).sections == frozenset({"resources", "aiguilleurs"})
    assert r.themes[0] in THEMES
    assert SEED.exists()
