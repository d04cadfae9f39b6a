"""Validation of catalog entries read from a file (YAML or CSV): types first,
then values, collecting every problem of every entry in one pass so that a
volunteer fixes the whole file at once."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dialogs.catalog.entries import (
    KINDS,
    LICENSE_OTHER,
    AiguilleurProfile,
    Catalog,
    CatalogError,
    CatalogIssue,
    Resource,
)
from dialogs.geo.places import region_codes
from dialogs.kernel.options import THEMES
from dialogs.kernel.replies import Msg, msg

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# SPDX identifiers (and "LicenseRef-…") are letters, digits, dots, dashes, plus.
LICENSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
MATRIX_ID = re.compile(r"^@[^:\s]+:[^\s]+$")
SUMMARY_MAX = 700  # about three sentences
NAME_MAX = 200

# Field → (kind of value, required). Kinds: text, list, bool, int, optional int.
RESOURCE_FIELDS: Mapping[str, tuple[str, bool]] = {
    "id": ("text", True),
    "name": ("text", True),
    "url": ("text", True),
    "summary": ("text", True),
    "themes": ("list", True),
    "kind": ("text", True),
    "tags": ("list", False),
    "license": ("text", True),
    "libre": ("bool", True),
    "replaces": ("list", False),
    "regions": ("list", False),
    "summary_en": ("text", False),
}
AIGUILLEUR_FIELDS: Mapping[str, tuple[str, bool]] = {
    "id": ("text", True),
    "name": ("text", True),
    "matrix_id": ("text", True),
    "telegram_id": ("int?", False),
    "themes": ("list", True),
    "regions": ("list", False),
    "capacity": ("int", True),
    "available": ("bool", False),
    "demo": ("bool", False),
}


@dataclass(slots=True)
class RawEntry:
    """One entry as read from a file: values already converted to Python, with
    the line of each field when known."""

    index: int
    values: dict[str, Any]
    lines: dict[str, int]
    line: int | None


class Checker:
    """Collects issues for one file; `build_*` return None for a refused entry."""

    def __init__(self) -> None:
        self.issues: list[CatalogIssue] = []
        self.regions = frozenset(region_codes())

    def add(self, entry: str, field_name: str, line: int | None, message: Msg) -> None:
        self.issues.append(CatalogIssue(entry=entry, field=field_name, line=line, message=message))

    def entry_name(self, section: str, raw: RawEntry) -> str:
        value = raw.values.get("id")
        if isinstance(value, str) and SLUG.match(value):
            return value
        return f"{section}[{raw.index}]"

    def typed(
        self, section: str, raw: RawEntry, schema: Mapping[str, tuple[str, bool]]
    ) -> dict[str, Any]:
        """The fields that have the right type; the others become issues, and the
        value checks below look only at what is here, so one pass finds all."""
        name = self.entry_name(section, raw)
        values: dict[str, Any] = {}
        for key, value in raw.values.items():
            line = raw.lines.get(key, raw.line)
            if key not in schema:
                self.add(name, key, line, msg("catalog.unknown_field"))
                continue
            converted = convert(schema[key][0], value)
            if converted is None and not (schema[key][0] == "int?" and value is None):
                expected = msg(f"catalog.type.{schema[key][0].rstrip('?')}")
                self.add(name, key, line, msg("catalog.wrong_type", expected=expected))
                continue
            values[key] = converted
        for key, (_kind, required) in schema.items():
            if required and key not in raw.values:
                self.add(name, key, raw.line, msg("catalog.missing_field"))
        return values

    def common(self, section: str, raw: RawEntry, values: Mapping[str, Any]) -> None:
        """Checks shared by resources and aiguilleurs: slug, name, themes, régions."""
        name = self.entry_name(section, raw)

        def line(key: str) -> int | None:
            return raw.lines.get(key, raw.line)

        if "id" in values and not SLUG.match(values["id"]):
            self.add(name, "id", line("id"), msg("catalog.bad_slug", value=values["id"][:80]))
        if "name" in values and not values["name"].strip():
            self.add(name, "name", line("name"), msg("catalog.empty"))
        elif len(values.get("name", "")) > NAME_MAX:
            self.add(name, "name", line("name"), msg("catalog.too_long", maximum=NAME_MAX))
        if "themes" in values and not values["themes"]:
            self.add(name, "themes", line("themes"), msg("catalog.no_theme"))
        for theme in values.get("themes", ()):
            if theme not in THEMES:
                self.add(
                    name,
                    "themes",
                    line("themes"),
                    msg("catalog.unknown_theme", value=theme, choices=", ".join(THEMES)),
                )
        for region in values.get("regions", ()):
            if region not in self.regions:
                self.add(
                    name,
                    "regions",
                    line("regions"),
                    msg("catalog.unknown_region", value=region, choices=", ".join(region_codes())),
                )

    def build_resource(self, raw: RawEntry) -> Resource | None:
        before = len(self.issues)
        values = self.typed("resources", raw, RESOURCE_FIELDS)
        self.common("resources", raw, values)
        name = self.entry_name("resources", raw)

        def line(key: str) -> int | None:
            return raw.lines.get(key, raw.line)

        if "url" in values and not valid_url(values["url"]):
            self.add(name, "url", line("url"), msg("catalog.bad_url", value=values["url"][:80]))
        summary = " ".join(values.get("summary", "").split())
        if "summary" in values and not summary:
            self.add(name, "summary", line("summary"), msg("catalog.empty"))
        elif len(summary) > SUMMARY_MAX:
            self.add(name, "summary", line("summary"), msg("catalog.too_long", maximum=SUMMARY_MAX))
        summary_en = " ".join(values.get("summary_en", "").split())
        if len(summary_en) > SUMMARY_MAX:
            self.add(
                name, "summary_en", line("summary_en"), msg("catalog.too_long", maximum=SUMMARY_MAX)
            )
        if "kind" in values and values["kind"] not in KINDS:
            self.add(
                name,
                "kind",
                line("kind"),
                msg("catalog.unknown_kind", value=values["kind"], choices=", ".join(KINDS)),
            )
        license_id = values.get("license", "").strip()
        if (
            "license" in values
            and license_id not in LICENSE_OTHER
            and not LICENSE.match(license_id)
        ):
            self.add(name, "license", line("license"), msg("catalog.bad_license", value=license_id))
        for key in ("tags", "replaces"):
            if any(not item.strip() for item in values.get(key, ())):
                self.add(name, key, line(key), msg("catalog.empty_item"))
        if len(self.issues) != before:
            return None
        return Resource(
            id=values["id"],
            name=values["name"].strip(),
            url=values["url"].strip(),
            summary=summary,
            themes=tuple(values["themes"]),
            kind=values["kind"],
            tags=tuple(t.strip() for t in values.get("tags", ())),
            license=license_id,
            libre=values["libre"],
            replaces=tuple(t.strip() for t in values.get("replaces", ())),
            regions=tuple(values.get("regions", ())),
            summary_en=summary_en,
        )

    def build_aiguilleur(self, raw: RawEntry) -> AiguilleurProfile | None:
        before = len(self.issues)
        values = self.typed("aiguilleurs", raw, AIGUILLEUR_FIELDS)
        self.common("aiguilleurs", raw, values)
        name = self.entry_name("aiguilleurs", raw)
        if "matrix_id" in values and not MATRIX_ID.match(values["matrix_id"]):
            self.add(
                name,
                "matrix_id",
                raw.lines.get("matrix_id", raw.line),
                msg("catalog.bad_matrix_id", value=values["matrix_id"][:80]),
            )
        if values.get("capacity", 0) < 0:
            self.add(
                name, "capacity", raw.lines.get("capacity", raw.line), msg("catalog.bad_capacity")
            )
        telegram_id = values.get("telegram_id")
        if telegram_id is not None and telegram_id <= 0:
            self.add(
                name,
                "telegram_id",
                raw.lines.get("telegram_id", raw.line),
                msg("catalog.bad_telegram_id"),
            )
        if len(self.issues) != before:
            return None
        return AiguilleurProfile(
            id=values["id"],
            name=values["name"].strip(),
            matrix_id=values["matrix_id"],
            telegram_id=telegram_id,
            themes=tuple(values["themes"]),
            regions=tuple(values.get("regions", ())),
            capacity=values["capacity"],
            available=values.get("available", True),
            demo=values.get("demo", False),
        )

    def check_duplicates(
        self, section: str, raws: list[RawEntry], built: Iterable[object | None]
    ) -> None:
        seen: dict[str, int | None] = {}
        for raw, _item in zip(raws, built, strict=True):
            value = raw.values.get("id")
            if not isinstance(value, str):
                continue
            if value in seen:
                first = seen[value]
                self.add(
                    value,
                    "id",
                    raw.lines.get("id", raw.line),
                    msg("catalog.duplicate_id", first=first if first is not None else "?"),
                )
            else:
                seen[value] = raw.lines.get("id", raw.line)


def convert(kind: str, value: Any) -> Any:
    """The value as `kind` wants it, or None when it has the wrong type.

    Région codes such as 974 written without quotes arrive as ints: list items
    that are ints are read as their digits, since no list field holds numbers."""
    match kind:
        case "text":
            return value if isinstance(value, str) else None
        case "bool":
            return value if isinstance(value, bool) else None
        case "int" | "int?":
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        case "list":
            if value is None:
                return []
            if not isinstance(value, list):
                return None
            items = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
            return items if all(isinstance(v, str) for v in items) else None
    return None


def valid_url(url: str) -> bool:
    if any(ch.isspace() for ch in url.strip()):
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and "." in parts.netloc


def finish(checker: Checker, catalog: Catalog) -> Catalog:
    if checker.issues:
        # In file order, so that a volunteer fixes the file from top to bottom.
        ordered = sorted(checker.issues, key=lambda i: i.line if i.line is not None else 0)
        raise CatalogError(ordered)
    return catalog


def build_catalog(
    checker: Checker,
    resources: list[RawEntry],
    aiguilleurs: list[RawEntry],
    sections: frozenset[str],
) -> Catalog:
    built_resources = [checker.build_resource(raw) for raw in resources]
    built_aiguilleurs = [checker.build_aiguilleur(raw) for raw in aiguilleurs]
    checker.check_duplicates("resources", resources, built_resources)
    checker.check_duplicates("aiguilleurs", aiguilleurs, built_aiguilleurs)
    return finish(
        checker,
        Catalog(
            resources=tuple(r for r in built_resources if r is not None),
            aiguilleurs=tuple(a for a in built_aiguilleurs if a is not None),
            sections=sections,
        ),
    )
