"""Resources as CSV, for people who keep the catalog in a spreadsheet.

One row per resource, a header row naming the columns (same names as the YAML
fields). The separator is a comma or, as French spreadsheets write it, a
semicolon: the header tells which. List cells (themes, tags, replaces, regions)
separate items with commas or semicolons. `libre` accepts true/false, oui/non,
vrai/faux, 1/0. The line of each row is reported in errors.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from dialogs.catalog.check import RESOURCE_FIELDS, Checker, RawEntry, build_catalog
from dialogs.catalog.entries import Catalog, CatalogError, CatalogIssue, Resource
from dialogs.kernel.replies import msg

COLUMNS = tuple(RESOURCE_FIELDS)
TRUE = frozenset({"true", "vrai", "oui", "yes", "1"})
FALSE = frozenset({"false", "faux", "non", "no", "0"})
_ITEM_SEPARATOR = re.compile(r"[;,]")


def parse_resources_csv(text: str) -> Catalog:
    checker = Checker()
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise CatalogError(
            [CatalogIssue(entry="", field="", line=1, message=msg("catalog.csv_no_header"))]
        ) from exc
    for column in header:
        if column not in RESOURCE_FIELDS:
            checker.add("", column, 1, msg("catalog.csv_unknown_column"))
    for column, (_kind, required) in RESOURCE_FIELDS.items():
        if required and column not in header:
            checker.add("", column, 1, msg("catalog.csv_missing_column"))
    if len(set(header)) != len(header):
        checker.add("", "", 1, msg("catalog.csv_duplicate_column"))
    if checker.issues:
        raise CatalogError(checker.issues)

    entries: list[RawEntry] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            raw = RawEntry(index=len(entries), values={}, lines={}, line=line)
            if len(cells) != len(header):
                checker.add(
                    checker.entry_name("resources", raw),
                    "",
                    line,
                    msg("catalog.csv_cell_count", found=len(cells), expected=len(header)),
                )
                continue
            for column, cell in zip(header, cells, strict=True):
                raw.values[column] = cell_value(RESOURCE_FIELDS[column][0], cell)
                raw.lines[column] = line
            entries.append(raw)
    except csv.Error as exc:
        checker.add("", "", reader.line_num, msg("catalog.csv_broken", detail=str(exc)[:120]))
    return build_catalog(checker, entries, [], frozenset({"resources"}))


def cell_value(kind: str, cell: str) -> Any:
    """A cell as the YAML reader would have produced it; a cell that is not a
    boolean stays text, so that the checker reports a wrong type."""
    value = cell.strip()
    if kind == "list":
        return [item.strip() for item in _ITEM_SEPARATOR.split(value) if item.strip()]
    if kind == "bool":
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
    return value


def dump_resources_csv(resources: tuple[Resource, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in resources:
        writer.writerow(
            [
                r.id,
                r.name,
                r.url,
                r.summary,
                "; ".join(r.themes),
                r.kind,
                "; ".join(r.tags),
                r.license,
                "true" if r.libre else "false",
                "; ".join(r.replaces),
                "; ".join(r.regions),
                r.summary_en,
            ]
        )
    return buffer.getvalue()
