"""The resource catalog: libre resources and aiguilleurs, and their exchange files.

Rules:
- A catalog file is YAML (``resources:`` and/or ``aiguilleurs:`` lists) or, for
  resources only, CSV. The format is documented in ``docs/catalog.md``.
- A file is accepted whole or refused whole: every problem becomes a
  `CatalogIssue` naming the entry, the field and, where the parser knows it, the
  line, and `CatalogError` carries all of them at once so that a volunteer fixes
  the file in one pass.
- Issue messages are catalog keys (``catalog.*``); nothing here is French.

Pure: no SQL, no network, no asyncio. Modules: `catalog_types` (the data),
`catalog_check` (validation), `catalog_csv` (CSV), this one (YAML, files).
"""

from __future__ import annotations

from typing import Any

import yaml

from dialogs.catalog.check import Checker, RawEntry, build_catalog
from dialogs.catalog.csv_format import parse_resources_csv
from dialogs.catalog.entries import (
    KINDS,
    LICENSE_OTHER,
    SECTIONS,
    AiguilleurProfile,
    Catalog,
    CatalogError,
    CatalogIssue,
    Resource,
)
from dialogs.kernel.replies import msg

__all__ = [
    "KINDS",
    "LICENSE_OTHER",
    "SECTIONS",
    "AiguilleurProfile",
    "Catalog",
    "CatalogError",
    "CatalogIssue",
    "Resource",
    "dump_catalog_yaml",
    "parse_catalog_file",
    "parse_catalog_yaml",
    "parse_resources_csv",
]


# -------------------------------------------------------------------- YAML


def parse_catalog_yaml(text: str) -> Catalog:
    """Parse and validate a YAML catalog; raises `CatalogError` with every issue."""
    checker = Checker()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        checker.add("", "", line, msg("catalog.not_yaml", detail=str(problem)[:120]))
        raise CatalogError(checker.issues) from exc
    if not isinstance(root, yaml.MappingNode):
        checker.add("", "", node_line(root), msg("catalog.not_a_mapping"))
        raise CatalogError(checker.issues)
    constructor = yaml.SafeLoader("")
    sections: dict[str, list[RawEntry]] = {}
    for key_node, value_node in root.value:
        key = constructor.construct_object(key_node, deep=True)
        if key not in SECTIONS:
            checker.add("", str(key), node_line(key_node), msg("catalog.unknown_section"))
            continue
        if key in sections:
            checker.add("", str(key), node_line(key_node), msg("catalog.duplicate_section"))
            continue
        sections[key] = read_section(checker, str(key), value_node, constructor)
    if not sections and not checker.issues:
        checker.add("", "", node_line(root), msg("catalog.not_a_mapping"))
    return build_catalog(
        checker,
        sections.get("resources", []),
        sections.get("aiguilleurs", []),
        frozenset(sections),
    )


def node_line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def read_section(
    checker: Checker, section: str, node: yaml.Node, constructor: yaml.SafeLoader
) -> list[RawEntry]:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return []
    if not isinstance(node, yaml.SequenceNode):
        checker.add("", section, node_line(node), msg("catalog.not_a_list"))
        return []
    entries: list[RawEntry] = []
    for index, item in enumerate(node.value):
        if not isinstance(item, yaml.MappingNode):
            checker.add(f"{section}[{index}]", "", node_line(item), msg("catalog.not_an_entry"))
            continue
        raw = RawEntry(index=index, values={}, lines={}, line=node_line(item))
        for key_node, value_node in item.value:
            key = str(constructor.construct_object(key_node, deep=True))
            if key in raw.values:
                checker.add(
                    checker.entry_name(section, raw),
                    key,
                    node_line(key_node),
                    msg("catalog.duplicate_field"),
                )
                continue
            raw.values[key] = constructor.construct_object(value_node, deep=True)
            raw.lines[key] = node_line(value_node) or raw.line or 0
        entries.append(raw)
    return entries


def dump_catalog_yaml(catalog: Catalog) -> str:
    """The catalog as YAML in the same layout as the starter catalog; importing
    the result gives back the same catalog."""
    document: dict[str, Any] = {}
    if "resources" in catalog.sections:
        document["resources"] = [resource_mapping(r) for r in catalog.resources]
    if "aiguilleurs" in catalog.sections:
        document["aiguilleurs"] = [aiguilleur_mapping(a) for a in catalog.aiguilleurs]
    # default_flow_style=None: short lists inline ([a, b]), entries as blocks.
    dumped: str = yaml.safe_dump(
        document, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100
    )
    return dumped


def resource_mapping(resource: Resource) -> dict[str, Any]:
    return {
        "id": resource.id,
        "name": resource.name,
        "url": resource.url,
        "summary": resource.summary,
        "themes": list(resource.themes),
        "kind": resource.kind,
        "tags": list(resource.tags),
        "license": resource.license,
        "libre": resource.libre,
        "replaces": list(resource.replaces),
        "regions": list(resource.regions),
        **({"summary_en": resource.summary_en} if resource.summary_en else {}),
    }


def aiguilleur_mapping(person: AiguilleurProfile) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": person.id,
        "name": person.name,
        "matrix_id": person.matrix_id,
    }
    if person.telegram_id is not None:
        values["telegram_id"] = person.telegram_id
    values.update(
        themes=list(person.themes),
        regions=list(person.regions),
        capacity=person.capacity,
        available=person.available,
    )
    if person.demo:
        values["demo"] = True
    return values


# ---------------------------------------------------------------- any file


def parse_catalog_file(name: str, data: bytes) -> Catalog:
    """By extension: .yaml/.yml, or .csv for resources."""
    lowered = name.lower()
    if not lowered.endswith((".yaml", ".yml", ".csv")):
        raise CatalogError(
            [CatalogIssue(entry="", field="", line=None, message=msg("catalog.bad_extension"))]
        )
    try:
        text = data.decode("utf-8-sig")  # a BOM is what spreadsheets write
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CatalogError(
            [CatalogIssue(entry="", field="", line=line, message=msg("catalog.bad_encoding"))]
        ) from exc
    if lowered.endswith(".csv"):
        return parse_resources_csv(text)
    return parse_catalog_yaml(text)
