"""Catalog entries as plain data: libre resources, aiguilleurs, and the
problems found in a catalog file. Re-exported by `dialogs.catalog.load`."""

from __future__ import annotations

from dataclasses import dataclass, field

from dialogs.kernel.replies import Msg

KINDS = ("outil", "guide", "communaute", "formation", "financement", "donnees")
LICENSE_OTHER = ("proprietaire", "inconnue")
SECTIONS = ("resources", "aiguilleurs")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    id: str
    name: str
    url: str
    summary: str
    themes: tuple[str, ...]  # the first is the main theme
    kind: str
    tags: tuple[str, ...] = ()
    license: str = "inconnue"
    libre: bool = True
    replaces: tuple[str, ...] = ()  # proprietary tools this resource can replace
    regions: tuple[str, ...] = ()  # () = everywhere
    # The summary in English, shown to English speakers ("" = none: French is shown).
    summary_en: str = ""

    @property
    def national(self) -> bool:
        return not self.regions


@dataclass(frozen=True, slots=True, kw_only=True)
class AiguilleurProfile:
    id: str
    name: str
    matrix_id: str
    themes: tuple[str, ...]
    regions: tuple[str, ...] = ()  # () = works with lieux everywhere
    capacity: int = 3  # active cases at most
    available: bool = True
    telegram_id: int | None = None
    demo: bool = False  # fictional person for demonstrations: never for real users


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    resources: tuple[Resource, ...] = ()
    aiguilleurs: tuple[AiguilleurProfile, ...] = ()
    # Sections the file actually had: an import only disables rows of these,
    # so a CSV of resources leaves the aiguilleurs alone.
    sections: frozenset[str] = field(default_factory=lambda: frozenset(SECTIONS))


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogIssue:
    entry: str  # an id, "resources[3]" when the id is unusable, "" for the file
    field: str  # a field name, "" for the entry or the file
    line: int | None
    message: Msg


class CatalogError(Exception):
    def __init__(self, issues: list[CatalogIssue]) -> None:
        super().__init__(f"{len(issues)} catalog issue(s)")
        self.issues = issues
